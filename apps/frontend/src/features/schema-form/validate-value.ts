import type { JsonValue } from '@/api/connectors-contract';
import type { FieldError } from '@/api/types';
import type { JsonSchema } from './json-schema';
import { childPointer } from './json-pointer';
import {
  classifySchema,
  discriminatorOf,
  isJsonObject,
  resolveSchema,
  variantIndexOf,
  variantsOf,
} from './resolve-schema';
import { validateSecretReference } from './secret-reference';

function isBlank(value: JsonValue | undefined): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * Check a value against its schema the way the form can before sending: required fields,
 * secret reference shapes, whole numbers, enums, minimum item counts. Returns errors with
 * JSON Pointers, the same shape as the API's `errors`.
 */
export function validateValue(
  raw_schema: JsonSchema,
  root: JsonSchema,
  value: JsonValue | undefined,
  pointer: string,
  required: boolean,
): FieldError[] {
  const schema = resolveSchema(raw_schema, root);
  const kind = classifySchema(schema);
  if (isBlank(value)) {
    return required && kind !== 'const' ? [{ path: pointer, message: 'Required.' }] : [];
  }
  switch (kind) {
    case 'secret': {
      const problem = typeof value === 'string' ? validateSecretReference(value) : 'not text';
      return problem === null ? [] : [{ path: pointer, message: problem }];
    }
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
        ? rangeErrors(schema, value, pointer)
        : [{ path: pointer, message: 'Must be a whole number.' }];
    case 'number':
      return typeof value === 'number' ? rangeErrors(schema, value, pointer) : [];
    case 'enum':
      return (schema.enum ?? []).includes(value as JsonValue)
        ? []
        : [{ path: pointer, message: 'Choose one of the listed values.' }];
    case 'string':
      return typeof value === 'string' &&
        schema.pattern !== undefined &&
        !new RegExp(schema.pattern, 'u').test(value)
        ? [{ path: pointer, message: patternMessage(schema.pattern) }]
        : [];
    case 'object':
      return objectErrors(schema, root, value, pointer);
    case 'one_of': {
      const variants = variantsOf(schema, root);
      const index = variantIndexOf(value, variants, discriminatorOf(variants));
      const variant = variants[index];
      return variant === undefined
        ? [{ path: pointer, message: 'Choose a kind.' }]
        : objectErrors(variant, root, value, pointer);
    }
    case 'array': {
      const items = Array.isArray(value) ? value : [];
      const errors = items.flatMap((item, index) =>
        validateValue(schema.items ?? {}, root, item, childPointer(pointer, index), true),
      );
      if (schema.minItems !== undefined && items.length < schema.minItems) {
        errors.unshift({ path: pointer, message: `Add at least ${schema.minItems}.` });
      }
      return errors;
    }
    default:
      return [];
  }
}

function objectErrors(
  schema: JsonSchema,
  root: JsonSchema,
  value: JsonValue | undefined,
  pointer: string,
): FieldError[] {
  if (!isJsonObject(value)) return [{ path: pointer, message: 'Required.' }];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) =>
    validateValue(property, root, value[name], childPointer(pointer, name), required.has(name)),
  );
}

function rangeErrors(schema: JsonSchema, value: number, pointer: string): FieldError[] {
  if (schema.minimum !== undefined && value < schema.minimum) {
    return [{ path: pointer, message: `Must be at least ${schema.minimum}.` }];
  }
  if (schema.maximum !== undefined && value > schema.maximum) {
    return [{ path: pointer, message: `Must be at most ${schema.maximum}.` }];
  }
  return [];
}

function patternMessage(pattern: string): string {
  return pattern === '^/' ? 'Must start with /.' : `Must match ${pattern}.`;
}
