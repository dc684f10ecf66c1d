// The authorization API's types (tag `authz`), as aliases of the types generated from the
// OpenAPI document (src/api/schema.ts, `pnpm gen:api`). Objects and subjects are written
// `type:id` (`connector:01a2…`, `user:01a2…`, `group:sre#member`) in every endpoint.
import type { components, operations } from './schema';

type Schemas = components['schemas'];

/** Why a decision came out as it did: a role, a relationship, no grant, or a policy. */
export type ReasonKind = Schemas['ReasonKind'];
/** One reason, with the relation path (object → subject) or the policy rule that denied. */
export type Reason = Schemas['Reason'];
export type CheckRequest = Schemas['CheckRequestBody'];
/** An action of an object type (`view`, `edit`, `run`, …). */
export type Action = CheckRequest['action'];
export type Decision = Schemas['Decision'];
/** One check of a batch (`POST /api/v1/authz/check/batch`); its values are read per check. */
export type BatchCheck = Schemas['BatchCheck'];
/** The answer to one check of a batch: a decision, or `{ error }` in that check's place. */
export type BatchResult = Schemas['BatchResult'];
/** Why one check of a batch was not answered. */
export type BatchItemError = Schemas['BatchItemError'];
export type CheckBatchResponse = Schemas['CheckBatchResponse'];
export type Relationship = Schemas['RelationshipBody'];
/** A relation (`owner`, `editor`, `viewer`, `member`, …). */
export type Relation = Relationship['relation'];
export type WriteRelationshipsRequest = Schemas['RelationshipChanges'];
export type SubjectAccess = Schemas['AccessSubject'];
export type Group = Schemas['Group'];
/** A stored Rego policy. */
export type Policy = Schemas['StoredPolicy'];
/** A policy just saved, and the revision from which decisions use it. */
export type SavedPolicy = Schemas['SavedPolicy'];
/** The result of one `test_*` rule (named `grimos.policies.<name>.test_…`). */
export type PolicyTestOutcome = Schemas['PolicyTestResult'];
export type PolicyTestReport = Schemas['PolicyTestReport'];
export type PolicyDenial = Schemas['DenialView'];
export type DryRunRequest = Schemas['DryRunRequest'];
export type DryRunResult = Schemas['DryRunResult'];
export type DryRunReport = Schemas['DryRunReport'];
/** An object type (`connector`, `flow`, `group`, `platform`, …). */
export type ObjectType = NonNullable<
  NonNullable<operations['list_relationships']['parameters']['query']>['resource_type']
>;
