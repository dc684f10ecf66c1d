import type { ConnectorListParams } from '@/api/connectors-api';

export const connector_keys = {
  all: ['connectors'] as const,
  types: () => ['connector-types'] as const,
  list: (params: Omit<ConnectorListParams, 'cursor'>) => ['connectors', 'list', params] as const,
  detail: (id: string) => ['connectors', 'detail', id] as const,
};
