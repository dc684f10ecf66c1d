import { Input } from '@/components/ui/input';
import type { FieldProps } from './field-props';
import { FieldShell } from './FieldShell';

export function NumberField({ schema, pointer, label, required, value, onChange }: FieldProps) {
  const integer = schema.type === 'integer';
  const fallback = typeof schema.default === 'number' ? `Default: ${schema.default}` : undefined;
  return (
    <FieldShell
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
    >
      {(control) => (
        <Input
          {...control}
          type="number"
          inputMode={integer ? 'numeric' : 'decimal'}
          step={integer ? 1 : 'any'}
          min={schema.minimum}
          max={schema.maximum}
          placeholder={fallback}
          value={typeof value === 'number' ? value : ''}
          onChange={(event) => {
            const text = event.target.value;
            onChange(text === '' ? undefined : Number(text));
          }}
        />
      )}
    </FieldShell>
  );
}
