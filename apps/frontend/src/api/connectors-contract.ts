// ─────────────────────────────────────────────────────────────────────────────────────────
// HAND-TYPED — REPLACE WITH GENERATED TYPES.
// The connector endpoints (`/api/v1/interop/...`) are not in the OpenAPI document yet.
// Once `pnpm gen:api` emits them into `schema.ts`, replace each type below with an alias of
// `components['schemas'][...]` (as `types.ts` does) and delete this file's hand-written shapes.
// ─────────────────────────────────────────────────────────────────────────────────────────

/** A JSON value as the connector configuration holds it. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** GET /api/v1/interop/connector-types → `{ items: ConnectorType[] }`. */
export interface ConnectorType {
  type: string;
  title: string;
  description: string;
  /** JSON Schema of the configuration; secret fields carry `"x-secret": true`. */
  spec: JsonObject;
}

export interface ConnectorTestResult {
  ok: boolean;
  latency_ms: number;
  error: string | null;
}

export interface ConnectorLastTest extends ConnectorTestResult {
  tested_at: string;
}

export interface Connector {
  id: string;
  name: string;
  type: string;
  config: JsonObject;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  last_test: ConnectorLastTest | null;
  warnings: string[];
}

export interface CreateConnectorRequest {
  name: string;
  type: string;
  config: JsonObject;
}

export interface UpdateConnectorRequest {
  name: string;
  config: JsonObject;
}

export interface ItemsResponse<T> {
  items: T[];
}

export interface PageResponse<T> {
  items: T[];
  next_cursor?: string | null;
}
