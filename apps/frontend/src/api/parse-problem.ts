import type { FieldError, Problem } from './types';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parseFieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) =>
    isRecord(entry) && typeof entry.path === 'string' && typeof entry.message === 'string'
      ? [{ path: entry.path, message: entry.message }]
      : [],
  );
}

const STANDARD_MEMBERS = new Set([
  'type',
  'title',
  'status',
  'detail',
  'code',
  'errors',
  'request_id',
  'trace_id',
]);

/** A problem as read: the standard members, and the extension members of its type. */
export type ParsedProblem = Partial<Problem> & { extensions?: Record<string, unknown> };

/** Read a problem+json body defensively: unknown shapes yield what can be trusted. */
export function parseProblem(body: unknown): ParsedProblem {
  if (!isRecord(body)) return {};
  const extensions = Object.fromEntries(
    Object.entries(body).filter(([key]) => !STANDARD_MEMBERS.has(key)),
  );
  return {
    code: optionalString(body.code),
    detail: optionalString(body.detail),
    title: optionalString(body.title),
    request_id: optionalString(body.request_id) ?? null,
    errors: parseFieldErrors(body.errors),
    extensions,
  };
}
