import { createContext } from 'react';
import type { ApiClient } from '@/api/client';
import type { WhoAmI } from '@/api/types';

export type SessionStatus = 'checking' | 'signed_in' | 'signed_out';

export interface Session {
  status: SessionStatus;
  principal: WhoAmI | null;
  /** Why the user was sent back to sign-in (expired token, ...), shown there. */
  notice: string | null;
  client: ApiClient;
  signIn: (token: string) => Promise<void>;
  signOut: (notice?: string) => void;
}

export const SessionContext = createContext<Session | null>(null);
