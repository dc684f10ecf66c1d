import { ArrayField } from './ArrayField';
import { BooleanField } from './BooleanField';
import { EnumField } from './EnumField';
import type { FieldProps } from './field-props';
import { JsonField } from './JsonField';
import { MapField } from './MapField';
import { NumberField } from './NumberField';
import { ObjectField } from './ObjectField';
import { OneOfField } from './OneOfField';
import { classifySchema, resolveSchema } from './resolve-schema';
import { SecretField } from './SecretField';
import { StringField } from './StringField';

/** One generated field: resolves `$ref`s and picks the widget for the schema. */
export function SchemaField(props: FieldProps) {
  const schema = resolveSchema(props.schema, props.root);
  const resolved = { ...props, schema, label: schema.title ?? props.label };
  switch (classifySchema(schema)) {
    case 'secret':
      return <SecretField {...resolved} />;
    case 'string':
      return <StringField {...resolved} />;
    case 'integer':
    case 'number':
      return <NumberField {...resolved} />;
    case 'boolean':
      return <BooleanField {...resolved} />;
    case 'enum':
      return <EnumField {...resolved} />;
    case 'object':
      return <ObjectField {...resolved} />;
    case 'one_of':
      return <OneOfField {...resolved} />;
    case 'array':
      return <ArrayField {...resolved} />;
    case 'map':
      return <MapField {...resolved} />;
    case 'const':
      return null;
    case 'json':
      return <JsonField {...resolved} />;
  }
}
