import type { Role } from '@/api/types';

/** Operators, services and admins may create, change, test and delete connectors. */
export function canManageConnectors(role: Role | undefined): boolean {
  return role === 'admin' || role === 'operator' || role === 'service';
}
