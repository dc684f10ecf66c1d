import { useMemo } from 'react';
import type { JsonObject, JsonValue } from '@/api/connectors-contract';
import { FormErrorsContext } from './form-errors-context';
import type { JsonSchema } from './json-schema';
import { ObjectProperties } from './ObjectProperties';

interface SchemaFormProps {
  schema: JsonSchema;
  value: JsonObject;
  onChange: (value: JsonObject) => void;
  /** Where the value sits in the request body, e.g. `/config`. */
  pointer: string;
  errors: ReadonlyMap<string, string>;
  reportLocal: (pointer: string, message: string | null) => void;
  disabled?: boolean;
}

function asObject(value: JsonValue | undefined): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** The fields generated from a JSON Schema for an object value. */
export function SchemaForm({
  schema,
  value,
  onChange,
  pointer,
  errors,
  reportLocal,
  disabled = false,
}: SchemaFormProps) {
  const context = useMemo(
    () => ({ errors, reportLocal, disabled }),
    [errors, reportLocal, disabled],
  );
  return (
    <FormErrorsContext.Provider value={context}>
      <ObjectProperties
        schema={schema}
        root={schema}
        pointer={pointer}
        label=""
        required
        value={value}
        onChange={(next) => onChange(asObject(next))}
      />
    </FormErrorsContext.Provider>
  );
}
