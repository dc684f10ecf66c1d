import type { JsonObject, JsonValue } from '@/api/connectors-contract';
import type { JsonSchema } from './json-schema';
import { classifySchema, discriminatorOf, resolveSchema, variantsOf } from './resolve-schema';

/** A starting value: required parts get one, optional parts stay absent (`undefined`). */
export function defaultValue(
  raw_schema: JsonSchema,
  root: JsonSchema,
  required: boolean,
): JsonValue | undefined {
  const schema = resolveSchema(raw_schema, root);
  if (schema.const !== undefined) return schema.const;
  if (!required) return undefined;
  if (schema.default !== undefined) return schema.default;
  switch (classifySchema(schema)) {
    case 'object':
      return objectDefault(schema, root);
    case 'one_of': {
      const first = variantsOf(schema, root)[0];
      return first === undefined ? undefined : variantDefault(first, root);
    }
    case 'array': {
      const count = schema.minItems ?? 0;
      const item = schema.items ?? {};
      return Array.from({ length: count }, () => defaultValue(item, root, true) ?? null);
    }
    case 'map':
      return {};
    case 'enum':
      return schema.enum?.[0];
    case 'boolean':
      return false;
    case 'string':
    case 'secret':
      return '';
    default:
      return undefined;
  }
}

export function objectDefault(schema: JsonSchema, root: JsonSchema): JsonObject {
  const result: JsonObject = {};
  const required = new Set(schema.required ?? []);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = defaultValue(property, root, required.has(name));
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** The value a oneOf variant starts with (its discriminator set, required fields present). */
export function variantDefault(variant: JsonSchema, root: JsonSchema): JsonObject {
  return objectDefault(variant, root);
}

export { discriminatorOf };
