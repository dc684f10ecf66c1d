import { vi } from 'vitest';

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

/**
 * Replace `fetch` with handlers keyed "METHOD /path" (no query string). Unknown routes answer
 * 404 problem+json. Returns the spy to inspect calls.
 */
export function mockApi(handlers: Record<string, MockHandler>) {
  const spy = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href, 'http://grimos.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const handler = handlers[`${method} ${url.pathname}`];
    const text = typeof init.body === 'string' ? init.body : undefined;
    const request: MockRequest = {
      method,
      path: url.pathname,
      search: url.searchParams,
      headers: new Headers(init.headers),
      body: text === undefined ? undefined : (JSON.parse(text) as unknown),
    };
    if (handler === undefined)
      return problem(404, 'route_not_found', `no mock for ${method} ${url.pathname}`);
    return handler(request);
  });
  vi.stubGlobal('fetch', spy);
  return spy;
}

export const admin_whoami = {
  subject: 'u1',
  display_name: 'Ada Admin',
  role: 'admin',
  kind: 'api_token',
};

export const viewer_whoami = { ...admin_whoami, display_name: 'Vic Viewer', role: 'viewer' };
