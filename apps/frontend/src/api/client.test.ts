import { describe, expect, it, vi } from 'vitest';
import { makeConnector } from '@/test/connector-fixtures';
import { json, mockApi, problem } from '@/test/mock-api';
import { ApiError, NetworkError } from './api-error';
import { fetchWhoAmI } from './auth-api';
import { answer, createApiClient } from './client';
import { deleteConnector, listConnectors, updateConnector } from './connectors-api';

const ID = '0190a0b0-0000-7000-8000-000000000001';
const DETAIL = `/api/v1/interop/connectors/${ID}`;

describe('createApiClient', () => {
  it('sends the token, If-Match and JSON, and reads the ETag', async () => {
    const api = mockApi({
      [`PUT ${DETAIL}`]: () => json(makeConnector({ version: 7 }), { headers: { ETag: '"7"' } }),
    });
    const client = createApiClient({ getToken: () => 'grm_abc' });
    const saved = await updateConnector(client, ID, '6', { name: 'crm', config: { a: 1 } });
    expect(saved.version).toBe('7');
    expect(saved.connector.version).toBe(7);
    const request = api.find('PUT');
    expect(request?.path).toBe(DETAIL);
    expect(request?.headers.get('Authorization')).toBe('Bearer grm_abc');
    expect(request?.headers.get('If-Match')).toBe('"6"');
    expect(request?.headers.get('Content-Type')).toBe('application/json');
    expect(request?.body).toEqual({ name: 'crm', config: { a: 1 } });
  });

  it('sends no Authorization header without a token', async () => {
    const api = mockApi({ 'GET /api/v1/auth/whoami': () => json({ subject: 'u1' }) });
    await fetchWhoAmI(createApiClient({ getToken: () => null }));
    expect(api.requests[0]?.headers.has('Authorization')).toBe(false);
  });

  it('encodes path parameters and leaves empty filters out of the query', async () => {
    const api = mockApi({
      'GET /api/v1/interop/connectors': () => json({ items: [], next_cursor: null }),
      'DELETE /api/v1/interop/connectors/a%2Fb%3Fc': () => new Response(null, { status: 204 }),
    });
    const client = createApiClient({ getToken: () => null });
    await listConnectors(client, { q: '', type: 'rest', limit: 25 });
    expect(Object.fromEntries(api.requests[0]?.search ?? [])).toEqual({
      type: 'rest',
      limit: '25',
    });
    await deleteConnector(client, 'a/b?c');
    expect(api.find('DELETE')?.path).toBe('/api/v1/interop/connectors/a%2Fb%3Fc');
  });

  it('turns problem+json into a typed ApiError with field errors', async () => {
    mockApi({
      'POST /api/v1/interop/connectors': () =>
        problem(422, 'validation_failed', 'invalid config', [
          { path: '/config/auth/token', message: 'must be a secret reference' },
        ]),
    });
    const client = createApiClient({ getToken: () => null });
    const error = await client
      .POST('/api/v1/interop/connectors', { body: { name: 'crm', type: 'rest', config: {} } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 422,
      code: 'validation_failed',
      detail: 'invalid config',
      field_errors: [{ path: '/config/auth/token', message: 'must be a secret reference' }],
    });
  });

  it('throws error answers of calls that read no body too', async () => {
    mockApi({ [`DELETE ${DETAIL}`]: () => problem(409, 'in_use', 'used by flow nightly') });
    const client = createApiClient({ getToken: () => null });
    await expect(deleteConnector(client, ID)).rejects.toMatchObject({
      status: 409,
      code: 'in_use',
      detail: 'used by flow nightly',
    });
  });

  it('reports 401 answers to onUnauthorized', async () => {
    mockApi({ 'GET /api/v1/auth/whoami': () => problem(401, 'invalid_token', 'bad token') });
    const onUnauthorized = vi.fn();
    const client = createApiClient({ getToken: () => 'grm_old', onUnauthorized });
    await expect(fetchWhoAmI(client)).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('survives a non-JSON error body', async () => {
    mockApi({ 'GET /api/v1/auth/whoami': () => new Response('Bad Gateway', { status: 502 }) });
    const client = createApiClient({ getToken: () => null });
    await expect(fetchWhoAmI(client)).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reports a request that got no answer as a NetworkError', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.reject(new TypeError('fetch failed'))),
    );
    const client = createApiClient({ getToken: () => null });
    await expect(fetchWhoAmI(client)).rejects.toBeInstanceOf(NetworkError);
  });

  it('refuses a success answer without the body the contract promises', async () => {
    mockApi({ 'GET /api/v1/auth/whoami': () => new Response(null, { status: 200 }) });
    const client = createApiClient({ getToken: () => null });
    await expect(answer(client.GET('/api/v1/auth/whoami'))).rejects.toMatchObject({
      code: 'empty_answer',
    });
  });
});
