import { renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { BatchResult } from '@/api/authz-contract';
import type { WhoAmI } from '@/api/types';
import { principalSubject } from '@/auth/subject';
import { decideChecks, json, mockApi, problem, type MockCheck } from '@/test/mock-api';
import { sessionWrapper } from '@/test/session-wrapper';
import {
  answersFrom,
  permissionChecks,
  PLATFORM,
  useMyPermissions,
  type PermissionAsk,
} from './useMyPermissions';

const member: WhoAmI = {
  subject: 'tok-subject',
  user_id: 'u-mia',
  display_name: 'mia',
  role: 'member',
  kind: 'api_token',
};

const wrapper = sessionWrapper;

const batches = (api: ReturnType<typeof mockApi>) =>
  api.requests
    .filter((request) => request.path === '/api/v1/authz/check/batch')
    .map((request) => (request.body as { checks: MockCheck[] }).checks);

const allowed = (allowed: boolean): BatchResult => ({ allowed, reasons: [], revision: '1' });

describe('principalSubject', () => {
  it('names the caller as the server does', () => {
    expect(principalSubject(member)).toBe('user:u-mia');
    // No user id (e.g. OIDC): the principal's subject.
    expect(principalSubject({ subject: 'oidc-sub', role: 'viewer' })).toBe('user:oidc-sub');
    expect(principalSubject({ subject: 'ci', role: 'service', user_id: null })).toBe('service:ci');
    // A service token of a user is that user.
    expect(principalSubject({ subject: 'x', role: 'service', user_id: 'u9' })).toBe('user:u9');
  });
});

describe('permissionChecks and answersFrom', () => {
  it('asks each action on each object once, in a stable order', () => {
    const asks: PermissionAsk[] = [
      { resource: 'connector:b', actions: ['edit', 'delete', 'edit'] },
      { resource: PLATFORM, actions: ['create_connector'] },
      { resource: 'connector:b', actions: ['delete'] },
    ];
    expect(permissionChecks(asks)).toEqual([
      { resource: PLATFORM, action: 'create_connector' },
      { resource: 'connector:b', action: 'delete' },
      { resource: 'connector:b', action: 'edit' },
    ]);
    expect(permissionChecks([...asks].reverse())).toEqual(permissionChecks(asks));
  });

  it('allows only what a decision allows: errors and missing answers are refusals', () => {
    const checks = permissionChecks([
      { resource: 'connector:a', actions: ['delete', 'edit', 'manage', 'test'] },
    ]);
    const answers = answersFrom(checks, [
      allowed(true),
      { error: { status: 422, code: 'unknown_action', detail: '/checks/1/action: no' } },
      allowed(false),
    ]);
    expect([...answers]).toEqual([
      ['delete connector:a', true],
      ['edit connector:a', false],
      ['manage connector:a', false],
      ['test connector:a', false],
    ]);
  });
});

describe('useMyPermissions', () => {
  it('asks one batch about the caller themself and answers per action', async () => {
    const api = mockApi({
      'POST /api/v1/authz/check/batch': decideChecks(
        (check) => check.action === 'edit' || check.action === 'test',
      ),
    });
    const { result } = renderHook(
      () => useMyPermissions('connector:c1', ['edit', 'test', 'delete', 'manage']),
      { wrapper: wrapper(member) },
    );
    expect(result.current.status).toBe('pending');
    expect(result.current.can('edit', 'connector:c1')).toBe(false);
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(result.current.can('edit', 'connector:c1')).toBe(true);
    expect(result.current.can('test', 'connector:c1')).toBe(true);
    expect(result.current.can('delete', 'connector:c1')).toBe(false);
    expect(result.current.can('manage', 'connector:c1')).toBe(false);
    // Not asked: not allowed.
    expect(result.current.can('edit', 'connector:other')).toBe(false);
    expect(batches(api)).toEqual([
      ['delete', 'edit', 'manage', 'test'].map((action) => ({
        subject: 'user:u-mia',
        action,
        resource: 'connector:c1',
      })),
    ]);
  });

  it('asks about several objects in the same batch', async () => {
    const api = mockApi({
      'POST /api/v1/authz/check/batch': decideChecks(
        (check) => check.resource === PLATFORM || check.resource === 'connector:mine',
      ),
    });
    const { result } = renderHook(
      () =>
        useMyPermissions([
          { resource: PLATFORM, actions: ['create_connector'] },
          { resource: 'connector:mine', actions: ['delete'] },
          { resource: 'connector:theirs', actions: ['delete'] },
        ]),
      { wrapper: wrapper(member) },
    );
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(result.current.can('create_connector', PLATFORM)).toBe(true);
    expect(result.current.can('delete', 'connector:mine')).toBe(true);
    expect(result.current.can('delete', 'connector:theirs')).toBe(false);
    expect(batches(api)).toHaveLength(1);
  });

  it('splits more than 1,000 checks into batches the server takes', async () => {
    const api = mockApi({
      'POST /api/v1/authz/check/batch': decideChecks((check) => check.resource.endsWith('7')),
    });
    const asks = Array.from({ length: 600 }, (_, index) => ({
      resource: `connector:${index}`,
      actions: ['edit', 'delete'] as const,
    }));
    const { result } = renderHook(() => useMyPermissions(asks), { wrapper: wrapper(member) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(batches(api).map((checks) => checks.length)).toEqual([1000, 200]);
    expect(result.current.can('edit', 'connector:597')).toBe(true);
    expect(result.current.can('delete', 'connector:17')).toBe(true);
    expect(result.current.can('edit', 'connector:598')).toBe(false);
  });

  it('refuses everything when the batch cannot be asked', async () => {
    mockApi({
      'POST /api/v1/authz/check/batch': () => problem(503, 'unavailable', 'down'),
    });
    const { result } = renderHook(() => useMyPermissions('connector:c1', ['edit']), {
      wrapper: wrapper(member),
    });
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current.can('edit', 'connector:c1')).toBe(false);
  });

  it('asks nothing when there is nothing to ask', () => {
    const api = mockApi({ 'POST /api/v1/authz/check/batch': () => json({}) });
    const { result } = renderHook(() => useMyPermissions('connector:c1', []), {
      wrapper: wrapper(member),
    });
    expect(result.current.status).toBe('success');
    expect(api.requests).toEqual([]);
  });
});
