import type { ConnectorType, JsonObject } from '@/api/connectors-contract';

const secret = (title: string): JsonObject => ({ type: 'string', title, 'x-secret': true });

/** A trimmed copy of the REST connector's spec shape (crates/connector-rest/src/spec.rs). */
export const rest_spec: JsonObject = {
  type: 'object',
  required: ['base_url', 'streams'],
  properties: {
    type: { const: 'rest' },
    base_url: { type: 'string', format: 'uri', description: 'The API root.' },
    allow_insecure_http: { type: 'boolean', default: false },
    auth: {
      description: 'How requests authenticate.',
      oneOf: [
        {
          type: 'object',
          title: 'No authentication',
          properties: { type: { const: 'none' } },
          required: ['type'],
        },
        {
          type: 'object',
          title: 'Bearer token',
          properties: { type: { const: 'bearer' }, token: secret('Token') },
          required: ['type', 'token'],
        },
        {
          type: 'object',
          title: 'API key',
          properties: {
            type: { const: 'api_key' },
            name: { type: 'string' },
            in: { enum: ['header', 'query'], default: 'header' },
            value: secret('API key'),
          },
          required: ['type', 'name', 'value'],
        },
      ],
    },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Headers.' },
    streams: { type: 'array', minItems: 1, items: { $ref: '#/$defs/stream' } },
    timeout_seconds: { type: 'integer', minimum: 1, default: 30 },
    retry: {
      type: 'object',
      properties: { max_attempts: { type: 'integer', minimum: 1, default: 5 } },
    },
  },
  $defs: {
    stream: {
      type: 'object',
      required: ['name', 'path'],
      properties: {
        name: { type: 'string', minLength: 1 },
        path: { type: 'string', pattern: '^/' },
        method: { enum: ['GET', 'POST'], default: 'GET' },
        body: { description: 'A JSON body template.' },
      },
    },
  },
};

export const rest_type: ConnectorType = {
  type: 'rest',
  title: 'REST API',
  description: 'Any HTTP JSON API.',
  spec: rest_spec,
};
