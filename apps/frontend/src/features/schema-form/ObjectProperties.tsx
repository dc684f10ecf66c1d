import type { JsonObject } from '@/api/connectors-contract';
import type { FieldProps } from './field-props';
import { childPointer } from './json-pointer';
import { classifySchema, humanize, resolveSchema } from './resolve-schema';
import { SchemaField } from './SchemaField';

interface ObjectPropertiesProps extends Omit<FieldProps, 'value'> {
  value: JsonObject;
  /** A property not to render (a oneOf discriminator, chosen by the variant select). */
  hidden?: string;
}

/** The fields of an object's properties, in schema order; `const` properties stay hidden. */
export function ObjectProperties({
  schema,
  root,
  pointer,
  value,
  onChange,
  hidden,
}: ObjectPropertiesProps) {
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(schema.properties ?? {}).filter(
    ([name, property]) =>
      name !== hidden && classifySchema(resolveSchema(property, root)) !== 'const',
  );
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      {entries.map(([name, property]) => {
        const kind = classifySchema(resolveSchema(property, root));
        const wide = !['string', 'secret', 'integer', 'number', 'enum', 'boolean'].includes(kind);
        return (
          <div key={name} className={wide ? 'sm:col-span-2' : undefined}>
            <SchemaField
              schema={property}
              root={root}
              pointer={childPointer(pointer, name)}
              label={humanize(name)}
              required={required.has(name)}
              value={value[name]}
              onChange={(next) => {
                const { [name]: _previous, ...others } = value;
                onChange(next === undefined ? others : { ...others, [name]: next });
              }}
            />
          </div>
        );
      })}
    </div>
  );
}
