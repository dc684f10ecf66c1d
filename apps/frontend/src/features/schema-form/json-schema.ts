import type { JsonValue } from '@/api/connectors-contract';

/** The part of JSON Schema (2020-12) the form generator understands. */
export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  enum?: JsonValue[];
  const?: JsonValue;
  default?: JsonValue;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  'x-secret'?: boolean;
}

/** The spec comes from the server as plain JSON; this is the one trusted cast. */
export function asSchema(value: JsonValue | undefined): JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

export type FieldKind =
  | 'secret'
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'enum'
  | 'const'
  | 'object'
  | 'map'
  | 'array'
  | 'one_of'
  | 'json';
