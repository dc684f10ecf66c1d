import { useInfiniteQuery } from '@tanstack/react-query';
import { listConnectors } from '@/api/connectors-api';
import { useApiClient } from '@/auth/useSession';
import { connector_keys } from './query-keys';

export const PAGE_SIZE = 25;

/** Connectors page by page (`next_cursor`), filtered by name search and type. */
export function useConnectorList(q: string, type: string) {
  const client = useApiClient();
  const params = { q, type, limit: PAGE_SIZE };
  return useInfiniteQuery({
    queryKey: connector_keys.list(params),
    queryFn: ({ pageParam }) => listConnectors(client, { ...params, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
