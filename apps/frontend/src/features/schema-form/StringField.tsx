import { Input } from '@/components/ui/input';
import type { FieldProps } from './field-props';
import { jsonLabel } from './json-label';
import { FieldShell } from './FieldShell';

function placeholderOf(props: FieldProps): string | undefined {
  const fallback = props.schema.default;
  if (fallback === undefined || fallback === null || typeof fallback === 'object') return undefined;
  return `Default: ${jsonLabel(fallback)}`;
}

export function StringField(props: FieldProps) {
  const { schema, pointer, label, required, value, onChange } = props;
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
          type={schema.format === 'uri' ? 'url' : 'text'}
          autoComplete="off"
          spellCheck={false}
          placeholder={placeholderOf(props)}
          value={value === undefined || value === null ? '' : jsonLabel(value)}
          onChange={(event) => onChange(event.target.value === '' ? undefined : event.target.value)}
        />
      )}
    </FieldShell>
  );
}
