import { NativeSelect } from '@/components/ui/native-select';
import { variantDefault } from './default-value';
import type { FieldProps } from './field-props';
import { FieldShell } from './FieldShell';
import { GroupFrame } from './GroupFrame';
import { childPointer } from './json-pointer';
import { ObjectProperties } from './ObjectProperties';
import {
  discriminatorOf,
  isJsonObject,
  variantIndexOf,
  variantLabel,
  variantsOf,
} from './resolve-schema';

/** A oneOf (a discriminated union): a select for the kind, then that kind's fields. */
export function OneOfField({
  schema,
  root,
  pointer,
  label,
  required,
  value,
  onChange,
}: FieldProps) {
  const variants = variantsOf(schema, root);
  const discriminator = discriminatorOf(variants);
  const index = variantIndexOf(value, variants, discriminator);
  const variant = variants[index];
  const kind_pointer =
    discriminator === undefined ? `${pointer}/~kind` : childPointer(pointer, discriminator);
  return (
    <GroupFrame
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
    >
      <FieldShell pointer={kind_pointer} label={`${label}: kind`} required={required}>
        {(control) => (
          <NativeSelect
            {...control}
            value={index < 0 ? '' : String(index)}
            onChange={(event) => {
              const next = variants[Number(event.target.value)];
              onChange(
                event.target.value === '' || next === undefined
                  ? undefined
                  : variantDefault(next, root),
              );
            }}
          >
            {(index < 0 || !required) && <option value="">Not set</option>}
            {variants.map((option, option_index) => (
              <option key={option_index} value={String(option_index)}>
                {variantLabel(option, discriminator, option_index)}
              </option>
            ))}
          </NativeSelect>
        )}
      </FieldShell>
      {variant !== undefined && isJsonObject(value) && (
        <ObjectProperties
          schema={variant}
          root={root}
          pointer={pointer}
          label={label}
          required={required}
          value={value}
          onChange={onChange}
          hidden={discriminator}
        />
      )}
    </GroupFrame>
  );
}
