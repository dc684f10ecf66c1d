import type { Reason } from '@/api/authz-contract';

export type ReasonTone = 'grant' | 'deny' | 'none';

/** How a reason reads: a grant (role or relationship), a policy denial, or no grant. */
export function reasonTone(reason: Reason): ReasonTone {
  if (reason.kind === 'policy') return 'deny';
  if (reason.kind === 'no_grant') return 'none';
  return 'grant';
}

const TITLES: Record<Reason['kind'], string> = {
  role: 'Granted by a role',
  relationship: 'Granted by a relationship',
  no_grant: 'No role or relationship grants it',
  policy: 'Denied by a policy',
};

/** The reason's heading; a grant that a policy overrode says so. */
export function reasonTitle(reason: Reason, allowed = true): string {
  const title = TITLES[reason.kind];
  return !allowed && reasonTone(reason) === 'grant' ? `${title}, but a policy denies` : title;
}

/**
 * The steps of the relation path, from the object to the subject: the reason's `path`, or
 * the steps of its one-line summary (`flow:42#viewer ← group:sre#member ← user:ann`).
 */
export function reasonPath(reason: Reason): string[] {
  if (reason.path !== undefined && reason.path.length > 0) return reason.path;
  if (reason.kind !== 'role' && reason.kind !== 'relationship') return [];
  const steps = reason.summary.split('←').map((step) => step.trim());
  return steps.length > 1 && steps.every((step) => /^[a-z_]+:\S+$/.test(step)) ? steps : [];
}

/** Policy denials first, then grants, then the rest: the reason that decided comes first. */
export function orderedReasons(reasons: Reason[]): Reason[] {
  const rank: Record<ReasonTone, number> = { deny: 0, none: 1, grant: 2 };
  return [...reasons].sort((a, b) => rank[reasonTone(a)] - rank[reasonTone(b)]);
}
