import { NativeSelect } from '@/components/ui/native-select';
import type { FieldProps } from './field-props';
import { jsonLabel } from './json-label';
import { FieldShell } from './FieldShell';

export function EnumField({ schema, pointer, label, required, value, onChange }: FieldProps) {
  const options = schema.enum ?? [];
  const selected = options.findIndex((option) => option === value);
  const fallback = schema.default === undefined ? '' : ` (default ${jsonLabel(schema.default)})`;
  return (
    <FieldShell
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
    >
      {(control) => (
        <NativeSelect
          {...control}
          value={selected < 0 ? '' : String(selected)}
          onChange={(event) => {
            const index = event.target.value === '' ? -1 : Number(event.target.value);
            onChange(index < 0 ? undefined : options[index]);
          }}
        >
          {(!required || selected < 0) && <option value="">{`Not set${fallback}`}</option>}
          {options.map((option, index) => (
            <option key={jsonLabel(option)} value={String(index)}>
              {jsonLabel(option)}
            </option>
          ))}
        </NativeSelect>
      )}
    </FieldShell>
  );
}
