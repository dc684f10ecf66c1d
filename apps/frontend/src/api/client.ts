import { ApiError, NetworkError } from './api-error';
import { parseProblem } from './parse-problem';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** The version to send as `If-Match` (quoted here). */
  if_match?: number | string;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  /** The `ETag` header without quotes, when the answer has one. */
  etag: string | null;
  status: number;
}

export interface ApiClient {
  request<T>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

export interface ApiClientOptions {
  getToken: () => string | null;
  /** Called once for every 401 answer (the session is over). */
  onUnauthorized?: (error: ApiError) => void;
  base_url?: string;
}

function unquoteEtag(value: string | null): string | null {
  if (value === null) return null;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The one place every API call goes through: token, JSON, problem+json, 401. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base_url = options.base_url ?? '';
  return {
    // The body's type is the caller's, from the OpenAPI contract of the path it calls.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
    async request<T>(path: string, request_options: RequestOptions = {}) {
      const headers = new Headers({ Accept: 'application/json, application/problem+json' });
      const token = options.getToken();
      if (token !== null) headers.set('Authorization', `Bearer ${token}`);
      if (request_options.body !== undefined) headers.set('Content-Type', 'application/json');
      if (request_options.if_match !== undefined) {
        headers.set('If-Match', `"${String(request_options.if_match)}"`);
      }
      let response: Response;
      try {
        response = await fetch(base_url + path, {
          method: request_options.method ?? 'GET',
          headers,
          body:
            request_options.body === undefined ? undefined : JSON.stringify(request_options.body),
          signal: request_options.signal,
        });
      } catch (error) {
        if (error instanceof DOMException && error.name === 'AbortError') throw error;
        throw new NetworkError(error);
      }
      const body = await readBody(response);
      if (!response.ok) {
        const api_error = new ApiError(response.status, parseProblem(body));
        if (api_error.isUnauthorized()) options.onUnauthorized?.(api_error);
        throw api_error;
      }
      return {
        data: body as T,
        etag: unquoteEtag(response.headers.get('ETag')),
        status: response.status,
      };
    },
  };
}
