import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  createConnector,
  deleteConnector,
  testConnector,
  updateConnector,
} from '@/api/connectors-api';
import { ApiError } from '@/api/api-error';
import type { CreateConnectorRequest, UpdateConnectorRequest } from '@/api/connectors-contract';
import { useApiClient } from '@/auth/useSession';
import { access_keys } from '@/features/access/query-keys';
import { connector_keys } from './query-keys';

/** A refusal means what the caller may do changed since it was asked: ask again. */
function recheckWhenRefused(query_client: QueryClient) {
  return (error: unknown) => {
    if (error instanceof ApiError && error.status === 403)
      void query_client.invalidateQueries({ queryKey: access_keys.mine_all() });
  };
}

export function useCreateConnector() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: (request: CreateConnectorRequest) => createConnector(client, request),
    onSuccess: () => query_client.invalidateQueries({ queryKey: connector_keys.all }),
    onError: recheckWhenRefused(query_client),
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
    onError: recheckWhenRefused(query_client),
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
    onError: recheckWhenRefused(query_client),
  });
}

export function useTestConnector() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => testConnector(client, id),
    onError: recheckWhenRefused(query_client),
    onSettled: () => query_client.invalidateQueries({ queryKey: [...connector_keys.all, 'list'] }),
  });
}
