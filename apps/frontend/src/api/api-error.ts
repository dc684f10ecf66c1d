import type { ParsedProblem } from './parse-problem';
import type { FieldError } from './types';

/** An error answer of the API, parsed from its RFC 9457 problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly field_errors: FieldError[];
  readonly request_id: string | null;
  /** The members a problem type adds (e.g. `line` and `column` of `policy_invalid`). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(status: number, problem: ParsedProblem) {
    const detail = problem.detail ?? problem.title ?? `Request failed with status ${status}`;
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? `http_${status}`;
    this.detail = detail;
    this.field_errors = problem.errors ?? [];
    this.request_id = problem.request_id ?? null;
    this.extensions = problem.extensions ?? {};
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
