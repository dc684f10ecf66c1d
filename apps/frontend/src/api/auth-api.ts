import type { ApiClient } from './client';
import type { WhoAmI } from './types';

export async function fetchWhoAmI(client: ApiClient): Promise<WhoAmI> {
  const response = await client.request<WhoAmI>('/api/v1/auth/whoami');
  return response.data;
}
