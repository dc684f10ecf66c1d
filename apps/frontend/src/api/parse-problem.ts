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

/** Read a problem+json body defensively: unknown shapes yield what can be trusted. */
export function parseProblem(body: unknown): Partial<Problem> {
  if (!isRecord(body)) return {};
  return {
    code: optionalString(body.code),
    detail: optionalString(body.detail),
    title: optionalString(body.title),
    request_id: optionalString(body.request_id) ?? null,
    errors: parseFieldErrors(body.errors),
  };
}
