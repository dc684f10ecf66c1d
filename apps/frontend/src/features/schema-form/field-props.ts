import type { JsonValue } from '@/api/connectors-contract';
import type { JsonSchema } from './json-schema';

/** What every generated field receives. `schema` is already resolved. */
export interface FieldProps {
  schema: JsonSchema;
  root: JsonSchema;
  pointer: string;
  label: string;
  required: boolean;
  value: JsonValue | undefined;
  onChange: (value: JsonValue | undefined) => void;
}
