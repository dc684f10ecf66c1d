import { useQuery } from '@tanstack/react-query';
import { listConnectorTypes } from '@/api/connectors-api';
import { useApiClient } from '@/auth/useSession';
import { connector_keys } from './query-keys';

export function useConnectorTypes() {
  const client = useApiClient();
  return useQuery({
    queryKey: connector_keys.types(),
    queryFn: () => listConnectorTypes(client),
    staleTime: 5 * 60_000,
  });
}
