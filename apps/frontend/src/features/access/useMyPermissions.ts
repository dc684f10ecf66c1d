// What the signed-in caller may do, asked of the decision point (never guessed from the role):
// one `POST /api/v1/authz/check/batch` about the caller themself (which needs no
// `manage_access`) for every action a page's buttons need.
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { checkAccessBatch, MAX_BATCH_CHECKS } from '@/api/authz-api';
import type { Action, BatchCheck, BatchResult } from '@/api/authz-contract';
import type { ApiClient } from '@/api/client';
import { principalSubject } from '@/auth/subject';
import { useSession } from '@/auth/useSession';
import { access_keys } from './query-keys';

/** The platform object: where the `create_*` actions (and the roles) live. */
export const PLATFORM = 'platform:grimos';

/** The actions to ask about on one object (`type:id`). */
export interface PermissionAsk {
  resource: string;
  actions: readonly Action[];
}

/** One question of the batch: an action on an object. */
export interface PermissionCheck {
  resource: string;
  action: Action;
}

export interface MyPermissions {
  /**
   * Whether the caller may do `action` on `resource`. False until the answer is in, when the
   * check could not be answered, and for anything not asked (the UI then offers nothing the
   * server would refuse).
   */
  can: (action: Action, resource: string) => boolean;
  /** `pending` until these questions are answered (an earlier page's answers may show meanwhile). */
  status: 'pending' | 'error' | 'success';
  error: unknown;
}

/** Answers keyed by `checkKey`. */
export type PermissionAnswers = ReadonlyMap<string, boolean>;

function checkKey(action: string, resource: string): string {
  return `${action} ${resource}`;
}

/** The distinct (resource, action) pairs of `asks`, in a stable order (for the query key). */
export function permissionChecks(asks: readonly PermissionAsk[]): PermissionCheck[] {
  const seen = new Map<string, PermissionCheck>();
  for (const { resource, actions } of asks) {
    for (const action of actions) seen.set(checkKey(action, resource), { resource, action });
  }
  return [...seen.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, check]) => check);
}

function isDecision(result: BatchResult): result is Extract<BatchResult, { allowed: boolean }> {
  return 'allowed' in result;
}

/**
 * The answers of a batch, by check: allowed only when the decision says so. A check answered
 * with an error (or missing) counts as not allowed.
 */
export function answersFrom(
  checks: readonly PermissionCheck[],
  results: readonly BatchResult[],
): PermissionAnswers {
  const answers = new Map<string, boolean>();
  checks.forEach((check, index) => {
    const result = results[index];
    answers.set(
      checkKey(check.action, check.resource),
      result !== undefined && isDecision(result) && result.allowed,
    );
  });
  return answers;
}

/** Ask about `subject` for every check, in batches the server accepts (1,000 checks each). */
export async function askPermissions(
  client: ApiClient,
  subject: string,
  checks: readonly PermissionCheck[],
): Promise<PermissionAnswers> {
  const chunks: PermissionCheck[][] = [];
  for (let start = 0; start < checks.length; start += MAX_BATCH_CHECKS) {
    chunks.push(checks.slice(start, start + MAX_BATCH_CHECKS));
  }
  const answered = await Promise.all(
    chunks.map(async (chunk) => {
      const body: BatchCheck[] = chunk.map(({ resource, action }) => ({
        subject,
        action,
        resource,
      }));
      const { results } = await checkAccessBatch(client, body);
      return answersFrom(chunk, results);
    }),
  );
  return new Map(answered.flatMap((answers) => [...answers]));
}

const NO_ANSWERS: PermissionAnswers = new Map();

/**
 * What the signed-in caller may do: one batch of checks for the given actions on the given
 * objects (`useMyPermissions('connector:01a2', ['edit', 'delete'])`, or a list of asks for
 * several objects). Answers are cached per caller and questions, and refetched when
 * relationships are written here (`access_keys.mine`).
 */
export function useMyPermissions(resource: string, actions: readonly Action[]): MyPermissions;
export function useMyPermissions(asks: readonly PermissionAsk[]): MyPermissions;
export function useMyPermissions(
  first: string | readonly PermissionAsk[],
  actions: readonly Action[] = [],
): MyPermissions {
  const { client, principal } = useSession();
  const subject = principal === null ? null : principalSubject(principal);
  // The questions as a string, so a new array with the same questions is the same query.
  const asks_text = JSON.stringify(
    typeof first === 'string' ? [{ resource: first, actions }] : first,
  );
  const checks = useMemo(
    () => permissionChecks(JSON.parse(asks_text) as PermissionAsk[]),
    [asks_text],
  );
  const query = useQuery({
    queryKey: access_keys.mine(subject ?? '', checks),
    queryFn: () => askPermissions(client, subject ?? '', checks),
    enabled: subject !== null && checks.length > 0,
    // While other questions load (another page of a list), the earlier answers still show.
    placeholderData: (previous) => previous,
  });
  const answers = query.data ?? NO_ANSWERS;
  const can = useMemo(
    () => (action: Action, resource: string) => answers.get(checkKey(action, resource)) === true,
    [answers],
  );
  let status: MyPermissions['status'];
  if (checks.length === 0 || (query.isSuccess && !query.isPlaceholderData)) status = 'success';
  else if (query.isError) status = 'error';
  else status = 'pending';
  return { can, status, error: query.error };
}
