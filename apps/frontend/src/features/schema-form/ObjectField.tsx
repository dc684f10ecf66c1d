import { objectDefault } from './default-value';
import type { FieldProps } from './field-props';
import { GroupFrame } from './GroupFrame';
import { ObjectProperties } from './ObjectProperties';
import { OptionalGroup } from './OptionalGroup';
import { isJsonObject } from './resolve-schema';

/** A nested object: its properties in a fieldset; an optional one can be added and removed. */
export function ObjectField(props: FieldProps & { bare?: boolean }) {
  const { schema, root, pointer, label, required, value, onChange, bare } = props;
  const current = isJsonObject(value) ? value : required ? objectDefault(schema, root) : null;
  if (current === null) {
    return (
      <OptionalGroup
        label={label}
        description={schema.description}
        pointer={pointer}
        onAdd={() => onChange(objectDefault(schema, root))}
      />
    );
  }
  return (
    <GroupFrame
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
      onRemove={required ? undefined : () => onChange(undefined)}
      bare={bare}
    >
      <ObjectProperties {...props} value={current} />
    </GroupFrame>
  );
}
