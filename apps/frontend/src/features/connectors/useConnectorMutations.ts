import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  createConnector,
  deleteConnector,
  testConnector,
  updateConnector,
} from '@/api/connectors-api';
import type { CreateConnectorRequest, UpdateConnectorRequest } from '@/api/connectors-contract';
import { useApiClient } from '@/auth/useSession';
import { connector_keys } from './query-keys';

export function useCreateConnector() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: (request: CreateConnectorRequest) => createConnector(client, request),
    onSuccess: () => query_client.invalidateQueries({ queryKey: connector_keys.all }),
  });
}

export function useUpdateConnector(id: string) {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, request }: { version: string; request: UpdateConnectorRequest }) =>
      updateConnector(client, id, version, request),
    onSuccess: (saved) => {
      query_client.setQueryData(connector_keys.detail(id), saved);
      return query_client.invalidateQueries({ queryKey: [...connector_keys.all, 'list'] });
    },
  });
}

export function useDeleteConnector() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteConnector(client, id),
    onSuccess: (_, id) => {
      query_client.removeQueries({ queryKey: connector_keys.detail(id) });
      return query_client.invalidateQueries({ queryKey: [...connector_keys.all, 'list'] });
    },
  });
}

export function useTestConnector() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => testConnector(client, id),
    onSettled: () => query_client.invalidateQueries({ queryKey: [...connector_keys.all, 'list'] }),
  });
}
