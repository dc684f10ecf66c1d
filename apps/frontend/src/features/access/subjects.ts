import type { Group } from '@/api/authz-contract';
import type { User } from '@/api/authz-api';

/** Names to show for `user:<id>` and `group:<id>` references. */
export type SubjectNames = ReadonlyMap<string, string>;

export function subjectNames(users: readonly User[], groups: readonly Group[]): SubjectNames {
  const names = new Map<string, string>();
  for (const user of users) names.set(`user:${user.id}`, user.name);
  for (const group of groups) names.set(`group:${group.id}`, group.display_name);
  return names;
}

export function userSubject(id: string): string {
  return `user:${id}`;
}

/** Every member of a group is the userset `group:<id>#member`. */
export function groupSubject(id: string): string {
  return `group:${id}#member`;
}

/**
 * A reference for people: `user:01a2…` → `ann`, `group:sre#member` → `SRE (members)`,
 * `platform:grimos#admin` → `role admin`; unknown references stay as they are.
 */
export function describeSubject(subject: string, names: SubjectNames): string {
  const [object = subject, relation] = subject.split('#', 2);
  if (object === 'platform:grimos' && relation !== undefined) return `role ${relation}`;
  const name = names.get(object);
  if (name === undefined) return subject;
  if (relation === undefined) return name;
  return relation === 'member' ? `${name} (members)` : `${name} (${relation})`;
}

/** The kind of a subject reference: `user`, `group`, `service`, `platform`… */
export function subjectKind(subject: string): string {
  const at = subject.indexOf(':');
  return at < 0 ? subject : subject.slice(0, at);
}
