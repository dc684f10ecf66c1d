import { answer, type ApiClient } from './client';
import {
  asJsonObject,
  type Connector,
  type ConnectorTestResult,
  type ConnectorType,
  type CreateConnectorRequest,
  type PageResponse,
  type UpdateConnectorRequest,
} from './connectors-contract';
import type { components, operations } from './schema';

/** The query of `GET /api/v1/interop/connectors`, as the contract declares it. */
export type ConnectorListParams = NonNullable<operations['list_connectors']['parameters']['query']>;

export interface VersionedConnector {
  connector: Connector;
  /** The version to send back as `If-Match`. */
  version: string;
}

function toConnector(stored: components['schemas']['StoredConnector']): Connector {
  return { ...stored, config: asJsonObject(stored.config) };
}

function versioned(
  stored: components['schemas']['StoredConnector'],
  etag: string | null,
): VersionedConnector {
  const connector = toConnector(stored);
  return { connector, version: etag ?? String(connector.version) };
}

/** An empty filter is no filter: the parameter is left out rather than sent empty. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

export async function listConnectorTypes(client: ApiClient): Promise<ConnectorType[]> {
  const { data } = await answer(client.GET('/api/v1/interop/connector-types'));
  return data.items.map((item) => ({ ...item, spec: asJsonObject(item.spec) }));
}

export async function listConnectors(
  client: ApiClient,
  params: ConnectorListParams,
): Promise<PageResponse<Connector>> {
  const { data } = await answer(
    client.GET('/api/v1/interop/connectors', {
      params: {
        query: {
          limit: params.limit,
          cursor: nonEmpty(params.cursor),
          type: nonEmpty(params.type),
          q: nonEmpty(params.q),
        },
      },
    }),
  );
  return { ...data, items: data.items.map(toConnector) };
}

export async function getConnector(client: ApiClient, id: string): Promise<VersionedConnector> {
  const { data, etag } = await answer(
    client.GET('/api/v1/interop/connectors/{id}', { params: { path: { id } } }),
  );
  return versioned(data, etag);
}

export async function createConnector(
  client: ApiClient,
  request: CreateConnectorRequest,
): Promise<VersionedConnector> {
  const { data, etag } = await answer(client.POST('/api/v1/interop/connectors', { body: request }));
  return versioned(data, etag);
}

export async function updateConnector(
  client: ApiClient,
  id: string,
  version: string,
  request: UpdateConnectorRequest,
): Promise<VersionedConnector> {
  const { data, etag } = await answer(
    client.PUT('/api/v1/interop/connectors/{id}', {
      params: { path: { id }, header: { 'If-Match': `"${version}"` } },
      body: request,
    }),
  );
  return versioned(data, etag);
}

export async function deleteConnector(client: ApiClient, id: string): Promise<void> {
  // 204 without a body; an error answer is thrown by the client.
  await client.DELETE('/api/v1/interop/connectors/{id}', { params: { path: { id } } });
}

export async function testConnector(client: ApiClient, id: string): Promise<ConnectorTestResult> {
  const { data } = await answer(
    client.POST('/api/v1/interop/connectors/{id}/test', { params: { path: { id } } }),
  );
  return data;
}
