import type { JsonValue } from '@/api/connectors-contract';
import type { FieldKind, JsonSchema } from './json-schema';

const MAX_REF_DEPTH = 32;

function lookupRef(root: JsonSchema, ref: string): JsonSchema | undefined {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (match === null) return undefined;
  const table = match[1] === '$defs' ? root.$defs : root.definitions;
  return table?.[decodeURIComponent(match[2] ?? '')];
}

/** Follow local `$ref`s; keywords next to a `$ref` (e.g. a description) win over the target's. */
export function resolveSchema(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; current.$ref !== undefined && depth < MAX_REF_DEPTH; depth++) {
    const { $ref, ...siblings } = current;
    const target = lookupRef(root, $ref);
    if (target === undefined) return siblings;
    current = { ...target, ...siblings };
  }
  return current;
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.filter((type) => type !== 'null');
}

/** Which widget a (resolved) schema gets. */
export function classifySchema(schema: JsonSchema): FieldKind {
  if (schema.oneOf !== undefined || schema.anyOf !== undefined) return 'one_of';
  if (schema.const !== undefined) return 'const';
  if (schema.enum !== undefined) return 'enum';
  const types = typesOf(schema);
  if (types.length > 1) {
    // e.g. ["string", "number", "boolean"]: typed as text, sent as written.
    return types.every((type) => ['string', 'number', 'integer', 'boolean'].includes(type))
      ? 'string'
      : 'json';
  }
  const type = types[0] ?? (schema.properties !== undefined ? 'object' : undefined);
  switch (type) {
    case 'string':
      return schema['x-secret'] === true ? 'secret' : 'string';
    case 'integer':
    case 'number':
    case 'boolean':
    case 'array':
      return type;
    case 'object':
      if (schema.properties !== undefined) return 'object';
      return typeof schema.additionalProperties === 'object' ? 'map' : 'json';
    default:
      return 'json';
  }
}

export function variantsOf(schema: JsonSchema, root: JsonSchema): JsonSchema[] {
  return (schema.oneOf ?? schema.anyOf ?? []).map((variant) => resolveSchema(variant, root));
}

/** The property every variant fixes with a `const` (e.g. `type`), if there is one. */
export function discriminatorOf(variants: JsonSchema[]): string | undefined {
  const first = variants[0];
  if (first?.properties === undefined) return undefined;
  return Object.keys(first.properties).find((name) =>
    variants.every((variant) => variant.properties?.[name]?.const !== undefined),
  );
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Which variant a value is: by its discriminator, else the first whose required keys it has. */
export function variantIndexOf(
  value: JsonValue | undefined,
  variants: JsonSchema[],
  discriminator: string | undefined,
): number {
  if (!isObject(value)) return -1;
  if (discriminator !== undefined) {
    return variants.findIndex(
      (variant) => variant.properties?.[discriminator]?.const === value[discriminator],
    );
  }
  return variants.findIndex((variant) => (variant.required ?? []).every((key) => key in value));
}

export function variantLabel(
  variant: JsonSchema,
  discriminator: string | undefined,
  index: number,
) {
  if (variant.title !== undefined) return variant.title;
  const tag = discriminator === undefined ? undefined : variant.properties?.[discriminator]?.const;
  return typeof tag === 'string' ? tag : `Option ${index + 1}`;
}

/** "base_url" → "Base url": a readable label when the schema has no title. */
export function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export { isObject as isJsonObject };
