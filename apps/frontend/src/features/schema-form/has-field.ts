import type { JsonValue } from '@/api/connectors-contract';
import type { JsonSchema } from './json-schema';
import {
  classifySchema,
  discriminatorOf,
  isJsonObject,
  resolveSchema,
  variantIndexOf,
  variantsOf,
} from './resolve-schema';

/** "/streams/0/name" → ["streams", "0", "name"] (RFC 6901 unescaping). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Whether the generated form shows a field (or group) for `segments` below a value: an
 * error at such a path is shown next to it; any other goes to the form's banner.
 */
export function hasField(
  raw_schema: JsonSchema,
  root: JsonSchema,
  value: JsonValue | undefined,
  segments: string[],
): boolean {
  const schema = resolveSchema(raw_schema, root);
  const kind = classifySchema(schema);
  const [head, ...rest] = segments;
  if (head === undefined) return kind !== 'const';
  switch (kind) {
    case 'object': {
      const property = schema.properties?.[head];
      if (property === undefined || !isJsonObject(value)) return false;
      return hasField(property, root, value[head], rest);
    }
    case 'one_of': {
      const variants = variantsOf(schema, root);
      const discriminator = discriminatorOf(variants);
      if (head === discriminator && rest.length === 0) return true;
      const variant = variants[variantIndexOf(value, variants, discriminator)];
      const property = variant?.properties?.[head];
      if (property === undefined || !isJsonObject(value)) return false;
      return hasField(property, root, value[head], rest);
    }
    case 'array': {
      const index = Number(head);
      if (!Array.isArray(value) || !/^\d+$/.test(head) || index >= value.length) return false;
      return hasField(schema.items ?? {}, root, value[index], rest);
    }
    case 'map':
      return rest.length === 0 && isJsonObject(value) && head in value;
    default:
      return false;
  }
}
