import type { Connector } from '@/api/connectors-contract';

export function makeConnector(overrides: Partial<Connector> = {}): Connector {
  return {
    id: '0190a0b0-0000-7000-8000-000000000001',
    name: 'crm',
    type: 'rest',
    config: {
      type: 'rest',
      base_url: 'https://crm.example.com/api',
      auth: { type: 'bearer', token: 'env:CRM_TOKEN' },
      streams: [{ name: 'contacts', path: '/contacts' }],
    },
    version: 3,
    created_at: '2025-01-01T10:00:00Z',
    updated_at: '2025-01-02T10:00:00Z',
    created_by: 'u1',
    updated_by: 'u1',
    last_test: { ok: true, latency_ms: 42, error: null, tested_at: '2025-01-02T10:00:00Z' },
    warnings: [],
    ...overrides,
  };
}
