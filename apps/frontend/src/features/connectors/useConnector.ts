import { useQuery } from '@tanstack/react-query';
import { getConnector } from '@/api/connectors-api';
import { useApiClient } from '@/auth/useSession';
import { connector_keys } from './query-keys';

/**
 * One connector with its version. It is not refetched in the background: an open form
 * keeps the version it was loaded with, so a concurrent change surfaces as a 412 on save.
 */
export function useConnector(id: string) {
  const client = useApiClient();
  return useQuery({
    queryKey: connector_keys.detail(id),
    queryFn: () => getConnector(client, id),
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnMount: 'always',
    refetchOnWindowFocus: false,
  });
}
