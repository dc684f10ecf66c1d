import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { makeConnector } from '@/test/connector-fixtures';
import {
  admin_whoami,
  decideChecks,
  decideForRole,
  json,
  member_whoami,
  mockApi,
  problem,
  viewer_whoami,
} from '@/test/mock-api';
import { renderApp } from '@/test/render-app';
import { rest_type } from '@/test/rest-spec-fixture';

const ID = '0190a0b0-0000-7000-8000-000000000001';
const DETAIL = `/api/v1/interop/connectors/${ID}`;
const base = {
  'GET /api/v1/auth/whoami': () => json(admin_whoami),
  'POST /api/v1/authz/check/batch': decideForRole('admin'),
  'GET /api/v1/interop/connector-types': () => json({ items: [rest_type] }),
};

describe('connector editor', () => {
  it('maps problem+json field errors onto the fields, the rest into the banner', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      ...base,
      'POST /api/v1/interop/connectors': () =>
        problem(422, 'validation_failed', 'The configuration is invalid.', [
          { path: '/config/auth/token', message: 'must be a secret reference such as vault:...' },
          { path: '/config/mystery', message: 'unknown field' },
        ]),
    });
    renderApp('/connectors/new/rest');
    await user.type((await screen.findAllByLabelText(/^Name/))[0] as HTMLElement, 'crm');
    await user.type(screen.getByLabelText(/Base url/), 'https://crm.example.com');
    await user.type(screen.getAllByLabelText(/^Name/)[1] as HTMLElement, 'contacts');
    await user.type(screen.getByLabelText(/^Path/), '/contacts');
    await user.selectOptions(screen.getByLabelText(/Auth: kind/), 'Bearer token');
    await user.type(screen.getByLabelText(/^Token/), 'env:CRM_TOKEN');
    await user.click(screen.getByRole('button', { name: 'Create connector' }));

    const token = screen.getByLabelText(/^Token/);
    expect(
      await screen.findByText('must be a secret reference such as vault:...'),
    ).toBeInTheDocument();
    expect(token).toHaveAttribute('aria-invalid', 'true');
    expect(token).toHaveFocus();
    const banner = screen.getByRole('alert');
    expect(banner).toHaveTextContent('The configuration is invalid.');
    expect(banner).toHaveTextContent('/config/mystery: unknown field');

    expect(api.find('POST', '/api/v1/interop/connectors')?.body).toEqual({
      name: 'crm',
      type: 'rest',
      config: {
        type: 'rest',
        base_url: 'https://crm.example.com',
        streams: [{ name: 'contacts', path: '/contacts' }],
        auth: { type: 'bearer', token: 'env:CRM_TOKEN' },
      },
    });
  });

  it('checks required fields and secret references before sending', async () => {
    const user = userEvent.setup();
    const api = mockApi(base);
    renderApp('/connectors/new/rest');
    await user.selectOptions(await screen.findByLabelText(/Auth: kind/), 'Bearer token');
    await user.type(screen.getByLabelText(/^Token/), 'plain-secret');
    await user.click(screen.getByRole('button', { name: 'Create connector' }));
    expect(await screen.findByText('Give the connector a name.')).toBeInTheDocument();
    expect(screen.getByText(/not a literal value/)).toBeInTheDocument();
    expect(api.find('POST', '/api/v1/interop/connectors')).toBeUndefined();
  });

  it('on 412 keeps the edits, explains, and reloads the latest version on request', async () => {
    const user = userEvent.setup();
    let served = makeConnector();
    const api = mockApi({
      ...base,
      [`GET ${DETAIL}`]: () => json(served, { headers: { ETag: `"${served.version}"` } }),
      [`PUT ${DETAIL}`]: (request) =>
        request.headers.get('If-Match') === `"${served.version}"`
          ? json(served)
          : problem(412, 'precondition_failed', 'stale version'),
    });
    renderApp(`/connectors/${ID}`);
    const name = (await screen.findAllByLabelText(/^Name/))[0] as HTMLElement;
    // someone else saves version 4 meanwhile
    served = makeConnector({ version: 4, name: 'crm-renamed' });
    await user.clear(name);
    await user.type(name, 'crm-mine');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    expect(await screen.findByText(/Someone else changed this connector/)).toBeInTheDocument();
    expect(screen.getAllByLabelText(/^Name/)[0]).toHaveValue('crm-mine');
    expect(api.find('PUT')?.headers.get('If-Match')).toBe('"3"');

    await user.click(screen.getByRole('button', { name: 'Reload latest version' }));
    expect(await screen.findByDisplayValue('crm-renamed')).toBeInTheDocument();
    expect(screen.queryByText(/Someone else changed this connector/)).not.toBeInTheDocument();
  });

  it('shows a viewer the configuration read-only, without actions', async () => {
    mockApi({
      ...base,
      'GET /api/v1/auth/whoami': () => json(viewer_whoami),
      'POST /api/v1/authz/check/batch': decideForRole('viewer'),
      [`GET ${DETAIL}`]: () => json(makeConnector(), { headers: { ETag: '"3"' } }),
    });
    renderApp(`/connectors/${ID}`);
    expect(await screen.findByLabelText(/^Token/)).toBeDisabled();
    expect(screen.queryByRole('button', { name: 'Save changes' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Test connection/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Delete/ })).not.toBeInTheDocument();
  });

  it('deletes after confirmation', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      ...base,
      [`GET ${DETAIL}`]: () => json(makeConnector(), { headers: { ETag: '"3"' } }),
      [`DELETE ${DETAIL}`]: () => new Response(null, { status: 204 }),
      'GET /api/v1/interop/connectors': () => json({ items: [], next_cursor: null }),
    });
    renderApp(`/connectors/${ID}`);
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Delete crm?' });
    expect(confirm).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(screen.getByRole('button', { name: 'Delete connector' }));
    expect(await screen.findByText('No connectors yet')).toBeInTheDocument();
    expect(api.find('DELETE')?.path).toBe(DETAIL);
  });

  it('lets a member granted editor change the connector, with only the buttons they may use', async () => {
    const user = userEvent.setup();
    // As the server decides for an editor: edit and test this connector, nothing else.
    const api = mockApi({
      ...base,
      'GET /api/v1/auth/whoami': () => json(member_whoami),
      'POST /api/v1/authz/check/batch': decideChecks(
        (check) =>
          check.subject === 'user:u-mia' &&
          check.resource === `connector:${ID}` &&
          ['view', 'edit', 'test'].includes(check.action),
      ),
      [`GET ${DETAIL}`]: () => json(makeConnector(), { headers: { ETag: '"3"' } }),
      [`PUT ${DETAIL}`]: (request) =>
        json(makeConnector({ ...(request.body as object), version: 4 }), {
          headers: { ETag: '"4"' },
        }),
    });
    renderApp(`/connectors/${ID}`);
    const name = (await screen.findAllByLabelText(/^Name/))[0] as HTMLElement;
    expect(name).toBeEnabled();
    expect(screen.getByRole('button', { name: /Test connection/ })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Delete/ })).not.toBeInTheDocument();
    // Not a manager: the access panel neither lists nor offers to add or remove anyone.
    expect(screen.getByText(/You may not see who has access/)).toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'Add access' })).not.toBeInTheDocument();
    expect(api.find('GET', '/api/v1/authz/relationships')).toBeUndefined();

    await user.clear(name);
    await user.type(name, 'crm-by-mia');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText('Saved crm-by-mia')).toBeInTheDocument();
    expect(api.find('PUT')?.body).toMatchObject({ name: 'crm-by-mia' });
    expect(api.find('PUT')?.headers.get('If-Match')).toBe('"3"');
  });

  it('shows a member who may only view the connector read-only, without actions', async () => {
    mockApi({
      ...base,
      'GET /api/v1/auth/whoami': () => json(member_whoami),
      'POST /api/v1/authz/check/batch': decideChecks((check) => check.action === 'view'),
      [`GET ${DETAIL}`]: () => json(makeConnector(), { headers: { ETag: '"3"' } }),
    });
    renderApp(`/connectors/${ID}`);
    expect((await screen.findAllByLabelText(/^Name/))[0]).toBeDisabled();
    expect(screen.getByLabelText(/^Token/)).toBeDisabled();
    expect(screen.queryByRole('button', { name: 'Save changes' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Test connection/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Delete/ })).not.toBeInTheDocument();
  });

  it('shows the connector read-only when what the caller may do cannot be checked', async () => {
    mockApi({
      ...base,
      'POST /api/v1/authz/check/batch': () => problem(400, 'bad_request', 'no batches today'),
      [`GET ${DETAIL}`]: () => json(makeConnector(), { headers: { ETag: '"3"' } }),
    });
    renderApp(`/connectors/${ID}`);
    expect(await screen.findByText('Could not check what you may do here')).toBeInTheDocument();
    expect(screen.getByLabelText(/^Token/)).toBeDisabled();
    expect(screen.queryByRole('button', { name: /Delete/ })).not.toBeInTheDocument();
  });

  it('tells a caller who may not create connectors so, without a form', async () => {
    const api = mockApi({
      ...base,
      'GET /api/v1/auth/whoami': () => json(member_whoami),
      'POST /api/v1/authz/check/batch': decideChecks(() => false),
    });
    renderApp('/connectors/new/rest');
    expect(await screen.findByText('You may not add connectors.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create connector' })).not.toBeInTheDocument();
    expect(api.find('POST', '/api/v1/authz/check/batch')?.body).toEqual({
      checks: [{ subject: 'user:u-mia', action: 'create_connector', resource: 'platform:grimos' }],
    });
  });
});
