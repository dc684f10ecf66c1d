export const access_keys = {
  all: ['authz'] as const,
  relationships: (resource: string) => ['authz', 'relationships', resource] as const,
  groups: () => ['authz', 'groups'] as const,
  users: () => ['users'] as const,
};
