import type { PermissionCheck } from './useMyPermissions';

export const access_keys = {
  all: ['authz'] as const,
  relationships: (resource: string) => ['authz', 'relationships', resource] as const,
  groups: () => ['authz', 'groups'] as const,
  users: () => ['users'] as const,
  /** Every answer about what the caller may do (`useMyPermissions`). */
  mine_all: () => ['authz', 'mine'] as const,
  mine: (subject: string, checks: readonly PermissionCheck[]) =>
    ['authz', 'mine', subject, checks] as const,
};
