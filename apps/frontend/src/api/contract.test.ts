// The API contract at the type level. `tsc` (run by `pnpm lint` and the build) checks this
// file: each `@ts-expect-error` line must be a type error, so if the client ever accepted an
// unknown path, a wrong method, a missing parameter or a malformed body again, the build fails
// ("Unused '@ts-expect-error' directive"). The calls never run: they only need to compile.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { answer, createApiClient, type ApiClient } from './client';
import type { ConnectorTestResult } from './connectors-contract';
import type { components } from './schema';

/** Calls the contract refuses; built but never called. */
function refusedCalls(client: ApiClient) {
  return [
    // @ts-expect-error: no such path (a typo of `/api/v1/interop/connectors`)
    () => client.GET('/api/v1/interop/connector', {}),
    // @ts-expect-error: a path as any string is not a path of the contract
    (path: string) => client.GET(path, {}),
    // @ts-expect-error: the connector types are read, never created
    () => client.POST('/api/v1/interop/connector-types', { body: {} }),
    // @ts-expect-error: `{id}` must be given
    () => client.GET('/api/v1/interop/connectors/{id}'),
    // @ts-expect-error: the path parameter is `id`, not `name`
    () => client.GET('/api/v1/interop/connectors/{id}', { params: { path: { name: 'crm' } } }),
    // @ts-expect-error: `limit` is a number
    () => client.GET('/api/v1/interop/connectors', { params: { query: { limit: '25' } } }),
    // @ts-expect-error: creating a connector needs a body
    () => client.POST('/api/v1/interop/connectors'),
    () =>
      client.POST('/api/v1/interop/connectors', {
        // @ts-expect-error: `type` is missing
        body: { name: 'crm', config: {} },
      }),
    () =>
      client.POST('/api/v1/interop/connectors', {
        // @ts-expect-error: `name` is a string
        body: { name: 42, type: 'rest', config: {} },
      }),
    () =>
      client.PUT('/api/v1/interop/connectors/{id}', {
        params: { path: { id: 'x' } },
        // @ts-expect-error: `config` is an object, not a string
        body: { name: 'crm', config: 'base_url=https://crm.example.com' },
      }),
    async () => {
      const { data } = await answer(client.GET('/api/v1/interop/connectors'));
      // @ts-expect-error: a page has `items` and `next_cursor`, no `total`
      const total: unknown = data.total;
      return total;
    },
  ];
}

describe('the API contract', () => {
  it('types answers from the generated document', () => {
    const readPage = async (client: ApiClient) =>
      (await answer(client.GET('/api/v1/interop/connectors'))).data;
    const testConnection = async (client: ApiClient) =>
      (
        await answer(
          client.POST('/api/v1/interop/connectors/{id}/test', { params: { path: { id: 'x' } } }),
        )
      ).data;
    expectTypeOf(readPage).returns.resolves.toEqualTypeOf<
      components['schemas']['PageResponse_StoredConnector']
    >();
    expectTypeOf(testConnection).returns.resolves.toEqualTypeOf<ConnectorTestResult>();
  });

  it('refuses what the contract does not have (checked by tsc, above)', () => {
    const client = createApiClient({ getToken: () => null, base_url: 'http://grimos.test' });
    expect(refusedCalls(client)).toHaveLength(11);
  });
});
