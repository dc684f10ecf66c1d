import { vi } from 'vitest';
import type { WhoAmI } from '@/api/types';

export interface MockRequest {
  method: string;
  path: string;
  search: URLSearchParams;
  headers: Headers;
  body: unknown;
}

export type MockHandler = (request: MockRequest) => Response | Promise<Response>;

export function json(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { ...init, headers });
}

export function problem(
  status: number,
  code: string,
  detail: string,
  errors?: unknown[],
): Response {
  return new Response(
    JSON.stringify({
      type: `urn:grimos:problem:${code}`,
      title: code,
      status,
      code,
      detail,
      errors,
    }),
    {
      status,
      headers: { 'Content-Type': 'application/problem+json' },
    },
  );
}

async function readRequest(input: RequestInfo | URL, init: RequestInit): Promise<MockRequest> {
  const request = new Request(
    input instanceof URL || typeof input === 'string'
      ? new URL(input, 'http://grimos.test')
      : input,
    init,
  );
  const url = new URL(request.url);
  const text = await request.text();
  return {
    method: request.method.toUpperCase(),
    path: url.pathname,
    search: url.searchParams,
    headers: new Headers(request.headers),
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

/**
 * Replace `fetch` with handlers keyed "METHOD /path" (no query string). Unknown routes answer
 * 404 problem+json. `requests` records every request the app made, in order.
 */
export function mockApi(handlers: Record<string, MockHandler>) {
  const requests: MockRequest[] = [];
  const spy = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const request = await readRequest(input, init);
    requests.push(request);
    const handler = handlers[`${request.method} ${request.path}`];
    if (handler === undefined)
      return problem(404, 'route_not_found', `no mock for ${request.method} ${request.path}`);
    return handler(request);
  });
  vi.stubGlobal('fetch', spy);
  return {
    spy,
    requests,
    /** The first recorded request with this method (and path, when given), if any. */
    find: (method: string, path?: string) =>
      requests.find(
        (request) => request.method === method && (path === undefined || request.path === path),
      ),
  };
}

export const admin_whoami = {
  subject: 'u1',
  display_name: 'Ada Admin',
  role: 'admin',
  kind: 'api_token',
};

export const viewer_whoami = { ...admin_whoami, display_name: 'Vic Viewer', role: 'viewer' };

/** A member user (sees only what is shared), signed in with a token of their own. */
export const member_whoami: WhoAmI = {
  kind: 'api_token',
  subject: 'tok-mia',
  user_id: 'u-mia',
  display_name: 'Mia Member',
  role: 'member',
};

/** One check of a batch, as the app sent it. */
export interface MockCheck {
  subject: string;
  action: string;
  resource: string;
}

/**
 * A `POST /api/v1/authz/check/batch` handler: each check allowed when `allow(check)` says so
 * (with a reason of the matching kind), in the order asked, at revision 7.
 */
export function decideChecks(allow: (check: MockCheck) => boolean): MockHandler {
  return (request) => {
    const { checks } = request.body as { checks: MockCheck[] };
    return json({
      revision: '7',
      results: checks.map((check) =>
        allow(check)
          ? {
              allowed: true,
              revision: '7',
              reasons: [{ kind: 'role', summary: 'mock grant', path: [] }],
            }
          : {
              allowed: false,
              revision: '7',
              reasons: [{ kind: 'no_grant', summary: 'mock: no grant', path: [] }],
            },
      ),
    });
  };
}

/** What the mock decision point answers for a role: admins anything, viewers only views. */
export function decideForRole(role: 'admin' | 'viewer'): MockHandler {
  return decideChecks((check) =>
    role === 'admin' ? true : check.action === 'view' || check.action === 'read',
  );
}
