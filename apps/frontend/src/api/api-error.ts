import type { FieldError, Problem } from './types';

/** An error answer of the API, parsed from its RFC 9457 problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly field_errors: FieldError[];
  readonly request_id: string | null;

  constructor(status: number, problem: Partial<Problem>) {
    const detail = problem.detail ?? problem.title ?? `Request failed with status ${status}`;
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? `http_${status}`;
    this.detail = detail;
    this.field_errors = problem.errors ?? [];
    this.request_id = problem.request_id ?? null;
  }

  isUnauthorized(): boolean {
    return this.status === 401;
  }

  isStaleVersion(): boolean {
    return this.status === 412 || this.code === 'precondition_failed';
  }
}

/** A request that never got an answer (server down, network gone). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super('The grimOS server could not be reached. Check your connection and try again.', {
      cause,
    });
    this.name = 'NetworkError';
  }
}
