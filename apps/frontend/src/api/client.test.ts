import { describe, expect, it, vi } from 'vitest';
import { json, mockApi, problem } from '@/test/mock-api';
import { ApiError } from './api-error';
import { createApiClient } from './client';

describe('createApiClient', () => {
  it('sends the token and If-Match, and reads the ETag', async () => {
    const spy = mockApi({ 'PUT /x': () => json({ ok: true }, { headers: { ETag: '"7"' } }) });
    const client = createApiClient({ getToken: () => 'grm_abc' });
    const response = await client.request('/x', { method: 'PUT', body: { a: 1 }, if_match: 6 });
    expect(response.etag).toBe('7');
    const headers = new Headers(spy.mock.calls[0]?.[1]?.headers);
    expect(headers.get('Authorization')).toBe('Bearer grm_abc');
    expect(headers.get('If-Match')).toBe('"6"');
    expect(headers.get('Content-Type')).toBe('application/json');
  });

  it('turns problem+json into a typed ApiError with field errors', async () => {
    mockApi({
      'POST /x': () =>
        problem(422, 'validation_failed', 'invalid config', [
          { path: '/config/auth/token', message: 'must be a secret reference' },
        ]),
    });
    const client = createApiClient({ getToken: () => null });
    const error = await client
      .request('/x', { method: 'POST', body: {} })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 422,
      code: 'validation_failed',
      detail: 'invalid config',
      field_errors: [{ path: '/config/auth/token', message: 'must be a secret reference' }],
    });
  });

  it('reports 401 answers to onUnauthorized', async () => {
    mockApi({ 'GET /x': () => problem(401, 'invalid_token', 'bad token') });
    const onUnauthorized = vi.fn();
    const client = createApiClient({ getToken: () => 'grm_old', onUnauthorized });
    await expect(client.request('/x')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('survives a non-JSON error body', async () => {
    mockApi({ 'GET /x': () => new Response('Bad Gateway', { status: 502 }) });
    const client = createApiClient({ getToken: () => null });
    await expect(client.request('/x')).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });
});
