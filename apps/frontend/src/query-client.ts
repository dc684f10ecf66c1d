import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '@/api/api-error';

/** Retry only what may pass on a second try: network errors and 5xx answers, twice. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (failure_count, error) =>
          failure_count < 2 && !(error instanceof ApiError && error.status < 500),
      },
      mutations: { retry: false },
    },
  });
}
