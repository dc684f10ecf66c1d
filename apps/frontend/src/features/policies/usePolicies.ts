import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  createPolicy,
  deletePolicy,
  dryRunPolicy,
  getPolicy,
  listPolicies,
  testPolicy,
  updatePolicy,
  type VersionedPolicy,
} from '@/api/authz-api';
import type { DryRunRequest } from '@/api/authz-contract';
import { useApiClient } from '@/auth/useSession';

export const policy_keys = {
  all: ['policies'] as const,
  list: () => ['policies', 'list'] as const,
  detail: (id: string) => ['policies', 'detail', id] as const,
};

export function usePolicyList() {
  const client = useApiClient();
  return useQuery({ queryKey: policy_keys.list(), queryFn: () => listPolicies(client) });
}

/** One policy with its version; an open editor keeps the version it loaded (412 on a race). */
export function usePolicy(id: string | null) {
  const client = useApiClient();
  return useQuery({
    queryKey: policy_keys.detail(id ?? ''),
    queryFn: () => getPolicy(client, id ?? ''),
    enabled: id !== null,
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnMount: 'always',
    refetchOnWindowFocus: false,
  });
}

function useRemember() {
  const query_client = useQueryClient();
  return (saved: VersionedPolicy) => {
    query_client.setQueryData(policy_keys.detail(saved.policy.id), saved);
    return query_client.invalidateQueries({ queryKey: policy_keys.list() });
  };
}

export function useCreatePolicy() {
  const client = useApiClient();
  const remember = useRemember();
  return useMutation({
    mutationFn: ({ name, source }: { name: string; source: string }) =>
      createPolicy(client, name, source),
    onSuccess: remember,
  });
}

export function useUpdatePolicy(id: string) {
  const client = useApiClient();
  const remember = useRemember();
  return useMutation({
    mutationFn: ({ version, source }: { version: string; source: string }) =>
      updatePolicy(client, id, version, source),
    onSuccess: remember,
  });
}

export function useDeletePolicy() {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, version }: { id: string; version: string }) =>
      deletePolicy(client, id, version),
    onSuccess: (_, { id }) => {
      query_client.removeQueries({ queryKey: policy_keys.detail(id) });
      return query_client.invalidateQueries({ queryKey: policy_keys.list() });
    },
  });
}

export function useTestPolicy() {
  const client = useApiClient();
  return useMutation({ mutationFn: (id: string) => testPolicy(client, id) });
}

export function useDryRun() {
  const client = useApiClient();
  return useMutation({ mutationFn: (request: DryRunRequest) => dryRunPolicy(client, request) });
}
