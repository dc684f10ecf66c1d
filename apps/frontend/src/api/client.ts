// The API client: `openapi-fetch` typed by the `paths` generated from the server's OpenAPI
// document (src/api/schema.ts, `pnpm gen:api`). URLs, methods, path and query parameters,
// headers, bodies and answers all come from the contract, so a contract change breaks the
// build (`tsc`), not the user.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError, NetworkError } from './api-error';
import { parseProblem } from './parse-problem';
import type { paths } from './schema';

/** A client for every operation of the grimOS API. */
export type ApiClient = Client<paths>;

export interface ApiClientOptions {
  getToken: () => string | null;
  /** Called once for every 401 answer (the session is over). */
  onUnauthorized?: (error: ApiError) => void;
  /** Where the API is served; the page's own origin by default. */
  base_url?: string;
}

/** A success answer: its body, its `ETag` without quotes (when it has one) and its status. */
export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  status: number;
}

function unquoteEtag(value: string | null): string | null {
  if (value === null) return null;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** Token in, problem+json out: every error answer becomes an `ApiError`, thrown. */
function sessionMiddleware(options: ApiClientOptions): Middleware {
  return {
    onRequest({ request }) {
      const token = options.getToken();
      if (token !== null) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.ok) return undefined;
      const api_error = new ApiError(response.status, parseProblem(await readBody(response)));
      if (api_error.isUnauthorized()) options.onUnauthorized?.(api_error);
      throw api_error;
    },
    onError({ error }) {
      // An aborted request stays an abort; anything else never got an answer.
      return isAbort(error) ? undefined : new NetworkError(error);
    },
  };
}

/** The one place every API call goes through: token, JSON, problem+json, 401. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.base_url ?? globalThis.location.origin,
    // Looked up on every call, so the `fetch` in force then is the one used.
    fetch: (request) => globalThis.fetch(request),
    headers: { Accept: 'application/json, application/problem+json' },
  });
  client.use(sessionMiddleware(options));
  return client;
}

/**
 * The success answer of a call, with its body required. Error answers never get here (the
 * client throws them as `ApiError`); the checks keep the type honest all the same.
 */
export async function answer<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<ApiResponse<T>> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    throw new ApiError(response.status, parseProblem(error));
  }
  if (data === undefined) {
    throw new ApiError(response.status, {
      code: 'empty_answer',
      detail: 'The server answered without the expected body.',
    });
  }
  return { data, etag: unquoteEtag(response.headers.get('ETag')), status: response.status };
}
