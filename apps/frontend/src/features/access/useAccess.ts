import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  checkAccess,
  listGroups,
  listRelationships,
  listUsers,
  writeRelationships,
} from '@/api/authz-api';
import type { CheckRequest, Relationship } from '@/api/authz-contract';
import { useApiClient } from '@/auth/useSession';
import { access_keys } from './query-keys';

/** Who holds which relation on `resource`; asked only when `enabled` (the caller may manage it). */
export function useRelationships(resource: string, enabled = true) {
  const client = useApiClient();
  return useQuery({
    queryKey: access_keys.relationships(resource),
    queryFn: () => listRelationships(client, resource),
    enabled,
  });
}

export function useUsers(enabled: boolean) {
  const client = useApiClient();
  return useQuery({
    queryKey: access_keys.users(),
    queryFn: () => listUsers(client),
    enabled,
    staleTime: 30_000,
  });
}

export function useGroups(enabled: boolean) {
  const client = useApiClient();
  return useQuery({
    queryKey: access_keys.groups(),
    queryFn: () => listGroups(client),
    enabled,
    staleTime: 30_000,
  });
}

/**
 * Add and remove relationships; every list may change with them, so all are refetched.
 * `on_written` gets the revision of the write (for checks that must see it).
 */
export function useWriteRelationships(resource: string, on_written?: (revision: string) => void) {
  const client = useApiClient();
  const query_client = useQueryClient();
  return useMutation({
    mutationFn: ({
      writes = [],
      deletes = [],
    }: {
      writes?: Relationship[];
      deletes?: Relationship[];
    }) => writeRelationships(client, { writes, deletes }),
    onSuccess: (revision) => {
      on_written?.(revision);
      return Promise.all([
        query_client.invalidateQueries({ queryKey: access_keys.relationships(resource) }),
        query_client.invalidateQueries({ queryKey: ['connectors', 'list'] }),
        // What the caller may do can change with it (e.g. removing oneself as owner).
        query_client.invalidateQueries({ queryKey: access_keys.mine_all() }),
      ]);
    },
  });
}

export function useCheckAccess() {
  const client = useApiClient();
  return useMutation({
    mutationFn: (request: CheckRequest) => checkAccess(client, request),
  });
}
