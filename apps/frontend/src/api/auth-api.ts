import { answer, type ApiClient } from './client';
import type { WhoAmI } from './types';

export async function fetchWhoAmI(client: ApiClient): Promise<WhoAmI> {
  const { data } = await answer(client.GET('/api/v1/auth/whoami'));
  return data;
}
