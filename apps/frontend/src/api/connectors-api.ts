import type { ApiClient } from './client';
import type {
  Connector,
  ConnectorTestResult,
  ConnectorType,
  CreateConnectorRequest,
  ItemsResponse,
  PageResponse,
  UpdateConnectorRequest,
} from './connectors-contract';

const BASE = '/api/v1/interop';

export interface ConnectorListParams {
  q?: string;
  type?: string;
  cursor?: string;
  limit?: number;
}

export interface VersionedConnector {
  connector: Connector;
  /** The version to send back as `If-Match`. */
  version: string;
}

function versioned(connector: Connector, etag: string | null): VersionedConnector {
  return { connector, version: etag ?? String(connector.version) };
}

export async function listConnectorTypes(client: ApiClient): Promise<ConnectorType[]> {
  const response = await client.request<ItemsResponse<ConnectorType>>(`${BASE}/connector-types`);
  return response.data.items;
}

export async function listConnectors(
  client: ApiClient,
  params: ConnectorListParams,
): Promise<PageResponse<Connector>> {
  const search = new URLSearchParams();
  if (params.limit !== undefined) search.set('limit', String(params.limit));
  if (params.cursor) search.set('cursor', params.cursor);
  if (params.type) search.set('type', params.type);
  if (params.q) search.set('q', params.q);
  const query = search.toString();
  const response = await client.request<PageResponse<Connector>>(
    `${BASE}/connectors${query ? `?${query}` : ''}`,
  );
  return response.data;
}

export async function getConnector(client: ApiClient, id: string): Promise<VersionedConnector> {
  const response = await client.request<Connector>(`${BASE}/connectors/${encodeURIComponent(id)}`);
  return versioned(response.data, response.etag);
}

export async function createConnector(
  client: ApiClient,
  request: CreateConnectorRequest,
): Promise<VersionedConnector> {
  const response = await client.request<Connector>(`${BASE}/connectors`, {
    method: 'POST',
    body: request,
  });
  return versioned(response.data, response.etag);
}

export async function updateConnector(
  client: ApiClient,
  id: string,
  version: string,
  request: UpdateConnectorRequest,
): Promise<VersionedConnector> {
  const response = await client.request<Connector>(`${BASE}/connectors/${encodeURIComponent(id)}`, {
    method: 'PUT',
    body: request,
    if_match: version,
  });
  return versioned(response.data, response.etag);
}

export async function deleteConnector(client: ApiClient, id: string): Promise<void> {
  await client.request<null>(`${BASE}/connectors/${encodeURIComponent(id)}`, {
    method: 'DELETE',
  });
}

export async function testConnector(client: ApiClient, id: string): Promise<ConnectorTestResult> {
  const response = await client.request<ConnectorTestResult>(
    `${BASE}/connectors/${encodeURIComponent(id)}/test`,
    { method: 'POST' },
  );
  return response.data;
}
