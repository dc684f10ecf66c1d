import { ApiError, NetworkError } from '@/api/api-error';

/** A sentence for people, with the request id to quote when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.request_id ? `${error.detail} (request ${error.request_id})` : error.detail;
  }
  if (error instanceof NetworkError) return error.message;
  return error instanceof Error ? error.message : 'Something went wrong.';
}
