import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError } from '@/api/api-error';
import { fetchWhoAmI } from '@/api/auth-api';
import { createApiClient } from '@/api/client';
import type { WhoAmI } from '@/api/types';
import { SessionContext, type Session, type SessionStatus } from './session-context';
import { createTokenStore } from './token-storage';

const EXPIRED_NOTICE = 'Your session has ended: the token is no longer valid. Sign in again.';

export function SessionProvider({ children }: { children: ReactNode }) {
  const query_client = useQueryClient();
  const [token_store] = useState(createTokenStore);
  const [status, setStatus] = useState<SessionStatus>(() =>
    token_store.get() === null ? 'signed_out' : 'checking',
  );
  const [principal, setPrincipal] = useState<WhoAmI | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback(
    (next_notice?: string) => {
      token_store.set(null);
      setPrincipal(null);
      setNotice(next_notice ?? null);
      setStatus('signed_out');
      query_client.clear();
    },
    [query_client, token_store],
  );

  const client = useMemo(
    () =>
      createApiClient({
        getToken: token_store.get,
        onUnauthorized: () => {
          if (token_store.get() !== null) signOut(EXPIRED_NOTICE);
        },
      }),
    [signOut, token_store],
  );

  const signIn = useCallback(
    async (token: string) => {
      const probe = createApiClient({ getToken: () => token });
      const who = await fetchWhoAmI(probe);
      token_store.set(token);
      setPrincipal(who);
      setNotice(null);
      setStatus('signed_in');
    },
    [token_store],
  );

  // A token kept from earlier in this browser session is checked once on start.
  useEffect(() => {
    if (token_store.get() === null) return;
    let cancelled = false;
    fetchWhoAmI(client).then(
      (who) => {
        if (cancelled) return;
        setPrincipal(who);
        setStatus('signed_in');
      },
      (error: unknown) => {
        if (cancelled) return;
        signOut(error instanceof ApiError && error.isUnauthorized() ? EXPIRED_NOTICE : undefined);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [client, signOut, token_store]);

  const session = useMemo<Session>(
    () => ({ status, principal, notice, client, signIn, signOut }),
    [status, principal, notice, client, signIn, signOut],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
