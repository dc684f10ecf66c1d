import type { WhoAmI } from '@/api/types';

/**
 * The caller as the decision point names them (`authz::principal_subject`): `user:<user id>`
 * (or the principal's subject when it has no user id), and `service:<subject>` for a service
 * credential that belongs to no user. Checks about this subject need no `manage_access`.
 */
export function principalSubject(principal: Pick<WhoAmI, 'subject' | 'user_id' | 'role'>): string {
  const user_id = principal.user_id ?? null;
  if (principal.role === 'service' && user_id === null) return `service:${principal.subject}`;
  return `user:${user_id ?? principal.subject}`;
}
