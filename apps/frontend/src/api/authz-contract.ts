// The authorization API's types (tag `authz`): relationships, checks with their reasons,
// groups and Rego policies. Objects and subjects are written `type:id` (`connector:01a2…`,
// `user:01a2…`, `group:sre#member`), the same strings in every endpoint.

/** Why a decision came out as it did. */
export type ReasonKind = 'role' | 'relationship' | 'no_grant' | 'policy';

export interface Reason {
  kind: ReasonKind;
  /** In one line: `flow:42#viewer ← group:sre#member ← user:ann`. */
  summary: string;
  /** The relation path, from the object to the subject. */
  path?: string[];
  /** The policy that denied. */
  policy?: string;
  /** The rule of that policy. */
  rule?: string;
}

export interface CheckRequest {
  subject: string;
  action: string;
  resource: string;
  context?: Record<string, unknown>;
  /** Decide at this revision or later (the `revision` a write answered). */
  at_least?: string;
}

export interface Decision {
  allowed: boolean;
  reasons: Reason[];
  /** The revision of relationships and policies the decision was made at. */
  revision: string;
}

export interface Relationship {
  resource: string;
  relation: string;
  subject: string;
}

export interface RelationshipPage {
  items: Relationship[];
  next_cursor?: string | null;
}

export interface WriteRelationshipsRequest {
  writes: Relationship[];
  deletes: Relationship[];
}

export interface WriteRelationshipsAnswer {
  revision: string;
}

export interface SubjectAccess {
  subject: string;
  path: string[];
}

export interface SubjectPage {
  items: SubjectAccess[];
  revision: string;
}

export interface Group {
  id: string;
  display_name: string;
  description?: string | null;
  created_at?: string;
  created_by?: string | null;
}

export interface GroupPage {
  items: Group[];
  next_cursor?: string | null;
}

/** A stored Rego policy. */
export interface Policy {
  id: string;
  name: string;
  version: number;
  source: string;
  created_at?: string;
  updated_at?: string;
  created_by?: string | null;
  updated_by?: string | null;
}

export interface PolicyPage {
  items: Policy[];
  next_cursor?: string | null;
}

export interface CreatePolicyRequest {
  name: string;
  source: string;
}

/** A policy just saved, and the revision from which decisions use it. */
export type SavedPolicy = Policy & { revision: string };

export interface UpdatePolicyRequest {
  source: string;
}

/** The result of one `test_*` rule. */
export interface PolicyTestOutcome {
  policy: string;
  /** As `opa test` names it: `grimos.policies.<name>.test_…`. */
  test: string;
  passed: boolean;
  /** Why it failed: `false`, `undefined`, another value, or the evaluation error. */
  error?: string | null;
}

export interface PolicyTestReport {
  /** Whether every test passed (true when there are none). */
  passed: boolean;
  tests: PolicyTestOutcome[];
}

/** One denial of a policy: which policy and rule, on which line, and its message. */
export interface PolicyDenial {
  policy: string;
  rule: string;
  line: number;
  message: string;
}

export interface DryRunRequest {
  /** The draft's name (default: read from its `package` line). */
  name?: string;
  /** A draft evaluated in place of the stored policy of its name; without it, the stored ones. */
  source?: string;
  /** Decision inputs, each an object as the decision point builds it. */
  inputs: Record<string, unknown>[];
}

export interface DryRunResult {
  /** Whether a policy denies. */
  denied: boolean;
  denials: PolicyDenial[];
  /** Why the input could not be evaluated (then `denied` is true). */
  error?: string | null;
}

export interface DryRunReport {
  /** The policies evaluated, by name. */
  policies: string[];
  /** One per input, in order. */
  results: DryRunResult[];
}
