import { answer, type ApiClient } from './client';
import type {
  Action,
  BatchCheck,
  CheckBatchResponse,
  CheckRequest,
  Decision,
  DryRunReport,
  DryRunRequest,
  Group,
  ObjectType,
  Policy,
  PolicyTestReport,
  Relationship,
  SubjectAccess,
  WriteRelationshipsRequest,
} from './authz-contract';
import type { components } from './schema';

export type User = components['schemas']['User'];

/** A policy with the version to send back as `If-Match`. */
export interface VersionedPolicy {
  policy: Policy;
  version: string;
}

const OBJECT_TYPES: readonly ObjectType[] = [
  'connector',
  'mapping',
  'flow',
  'secret',
  'token',
  'user',
  'service',
  'group',
  'platform',
];

function isObjectType(value: string): value is ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(value);
}

/** `connector:01a2` → `{ type: 'connector', id: '01a2' }` (ids may hold colons). */
export function splitObject(object: string): { type: string; id: string } {
  const at = object.indexOf(':');
  return at < 0
    ? { type: object, id: '' }
    : { type: object.slice(0, at), id: object.slice(at + 1) };
}

export async function checkAccess(client: ApiClient, request: CheckRequest): Promise<Decision> {
  const { data } = await answer(client.POST('/api/v1/authz/check', { body: request }));
  return data;
}

/** The most checks the server takes in one batch. */
export const MAX_BATCH_CHECKS = 1000;

/** Up to 1,000 checks decided against one snapshot; the answers in the order of the checks. */
export async function checkAccessBatch(
  client: ApiClient,
  checks: BatchCheck[],
): Promise<CheckBatchResponse> {
  const { data } = await answer(client.POST('/api/v1/authz/check/batch', { body: { checks } }));
  return data;
}

export async function listSubjects(
  client: ApiClient,
  resource: string,
  action: Action,
): Promise<SubjectAccess[]> {
  const { data } = await answer(
    client.GET('/api/v1/authz/subjects', {
      params: { query: { resource, action } },
    }),
  );
  return data.items;
}

/** Every relationship on one object (all pages). */
export async function listRelationships(
  client: ApiClient,
  resource: string,
): Promise<Relationship[]> {
  const { type, id } = splitObject(resource);
  if (!isObjectType(type)) throw new Error(`${resource} is not an object reference (type:id)`);
  const items: Relationship[] = [];
  let cursor: string | undefined;
  do {
    const { data } = await answer(
      client.GET('/api/v1/authz/relationships', {
        params: {
          query: { resource_type: type, resource_id: id, limit: 500, cursor },
        },
      }),
    );
    items.push(...data.items);
    cursor = data.next_cursor ?? undefined;
  } while (cursor !== undefined && cursor !== '');
  return items;
}

export async function writeRelationships(
  client: ApiClient,
  request: WriteRelationshipsRequest,
): Promise<string> {
  const { data } = await answer(client.POST('/api/v1/authz/relationships', { body: request }));
  return data.revision;
}

export async function listGroups(client: ApiClient): Promise<Group[]> {
  const { data } = await answer(
    client.GET('/api/v1/authz/groups', { params: { query: { limit: 500 } } }),
  );
  return data.items;
}

/** The first 500 users, to pick from. */
export async function listUsers(client: ApiClient): Promise<User[]> {
  const { data } = await answer(client.GET('/api/v1/users', { params: { query: { limit: 500 } } }));
  return data.items;
}

function versionedPolicy(policy: Policy, etag: string | null): VersionedPolicy {
  return { policy, version: etag ?? String(policy.version) };
}

export async function listPolicies(client: ApiClient): Promise<Policy[]> {
  const { data } = await answer(client.GET('/api/v1/authz/policies'));
  return data.items;
}

export async function getPolicy(client: ApiClient, id: string): Promise<VersionedPolicy> {
  const { data, etag } = await answer(
    client.GET('/api/v1/authz/policies/{id}', { params: { path: { id } } }),
  );
  return versionedPolicy(data, etag);
}

export async function createPolicy(
  client: ApiClient,
  name: string,
  source: string,
): Promise<VersionedPolicy> {
  const { data, etag } = await answer(
    client.POST('/api/v1/authz/policies', { body: { name, source } }),
  );
  return versionedPolicy(data, etag);
}

export async function updatePolicy(
  client: ApiClient,
  id: string,
  version: string,
  source: string,
): Promise<VersionedPolicy> {
  const { data, etag } = await answer(
    client.PUT('/api/v1/authz/policies/{id}', {
      params: { path: { id }, header: { 'If-Match': `"${version}"` } },
      body: { source },
    }),
  );
  return versionedPolicy(data, etag);
}

export async function deletePolicy(client: ApiClient, id: string, version: string): Promise<void> {
  // 204 without a body; an error answer is thrown by the client.
  await client.DELETE('/api/v1/authz/policies/{id}', {
    params: { path: { id }, header: { 'If-Match': `"${version}"` } },
  });
}

/** The `test_*` rules of the stored policy, run with the other stored policies loaded. */
export async function testPolicy(client: ApiClient, id: string): Promise<PolicyTestReport> {
  const { data } = await answer(
    client.POST('/api/v1/authz/policies/{id}/test', {
      params: { path: { id } },
    }),
  );
  return data;
}

/** Evaluate a draft (or the stored policies) on inputs: what each input is denied by. */
export async function dryRunPolicy(
  client: ApiClient,
  request: DryRunRequest,
): Promise<DryRunReport> {
  const { data } = await answer(client.POST('/api/v1/authz/policies/dry-run', { body: request }));
  return data;
}
