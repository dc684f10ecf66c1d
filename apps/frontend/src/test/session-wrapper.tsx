import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { createApiClient } from '@/api/client';
import type { WhoAmI } from '@/api/types';
import { SessionContext, type Session } from '@/auth/session-context';

/** A wrapper for hooks and components outside the app: a fresh query client, signed in. */
export function sessionWrapper(principal: WhoAmI) {
  const query_client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  const session: Session = {
    status: 'signed_in',
    principal,
    notice: null,
    client: createApiClient({ getToken: () => 'grm_test', base_url: 'http://grimos.test' }),
    signIn: async () => {},
    signOut: () => {},
  };
  return function SessionWrapper({ children }: { children: ReactNode }) {
    return (
      <QueryClientProvider client={query_client}>
        <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
      </QueryClientProvider>
    );
  };
}
