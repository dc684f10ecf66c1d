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

export interface UpdatePolicyRequest {
  source: string;
  name?: string;
}

/** The result of one `test_*` rule. */
export interface PolicyTestOutcome {
  policy: string;
  test: string;
  passed: boolean;
  error?: string | null;
  package?: string;
}

export interface PolicyTestAnswer {
  items: PolicyTestOutcome[];
}

/** One denial of a policy: which policy and rule, on which line, and its message. */
export interface PolicyDenial {
  policy: string;
  rule: string;
  line?: number;
  message: string;
}

export interface DryRunRequest {
  /** A draft to evaluate in place of the stored policy of the same name. */
  source?: string;
  name?: string;
  inputs: unknown[];
}

export interface DryRunResult {
  denials: PolicyDenial[];
}

export interface DryRunAnswer {
  items: DryRunResult[];
}
