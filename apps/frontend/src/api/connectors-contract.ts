// The connector API's types, as aliases of the types generated from the OpenAPI document
// (src/api/schema.ts, `pnpm gen:api`). Configuration objects are free-form JSON in the
// document; the schema-driven form narrows them to `JsonObject`.
import type { components } from './schema';

type Schemas = components['schemas'];

/** A JSON value as the connector configuration holds it. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** GET /api/v1/interop/connector-types → `{ items: ConnectorType[] }`. */
export type ConnectorType = Omit<Schemas['ConnectorType'], 'spec'> & {
  /** JSON Schema of the configuration; secret fields carry `"x-secret": true`. */
  spec: JsonObject;
};

export type ConnectorTestResult = Schemas['TestResult'];

export type ConnectorLastTest = Schemas['LastTest'];

export type Connector = Omit<Schemas['StoredConnector'], 'config'> & { config: JsonObject };

export type CreateConnectorRequest = Omit<Schemas['CreateConnectorRequest'], 'config'> & {
  config: JsonObject;
};

export type UpdateConnectorRequest = Omit<Schemas['UpdateConnectorRequest'], 'config'> & {
  config: JsonObject;
};

export type PageResponse<T> = { items: T[]; next_cursor?: string | null };

/**
 * A configuration object of an answer, as the form reads it. The document calls it a free-form
 * object; it was parsed from JSON, so every value in it is a JSON value.
 */
export function asJsonObject(value: Record<string, unknown>): JsonObject {
  return value as JsonObject;
}
