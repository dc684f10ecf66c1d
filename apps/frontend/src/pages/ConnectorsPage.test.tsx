import { screen, waitFor, within } from '@testing-library/react';
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
  type MockCheck,
  viewer_whoami,
} from '@/test/mock-api';
import { renderApp } from '@/test/render-app';
import { rest_type } from '@/test/rest-spec-fixture';

function api(whoami: typeof admin_whoami) {
  return mockApi({
    'GET /api/v1/auth/whoami': () => json(whoami),
    'POST /api/v1/authz/check/batch': decideForRole(whoami.role === 'admin' ? 'admin' : 'viewer'),
    'GET /api/v1/interop/connector-types': () => json({ items: [rest_type] }),
    'GET /api/v1/interop/connectors': (request) =>
      request.search.get('cursor') === 'page2'
        ? json({
            items: [makeConnector({ id: 'c2', name: 'billing', last_test: null })],
            next_cursor: null,
          })
        : json({ items: [makeConnector()], next_cursor: 'page2' }),
    'POST /api/v1/interop/connectors/0190a0b0-0000-7000-8000-000000000001/test': () =>
      json({ ok: false, latency_ms: 12.4, error: 'connection refused' }),
  });
}

describe('connector list', () => {
  it('shows no buttons a viewer could not use', async () => {
    const mock = api(viewer_whoami);
    renderApp('/connectors');
    const table = await screen.findByRole('table', { name: 'Connectors' });
    // Asked, and the answers (views only) given time to show.
    await waitFor(() => expect(mock.find('POST', '/api/v1/authz/check/batch')).toBeDefined());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(within(table).getByRole('link', { name: 'crm' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Add connector/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Test connection/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /More actions/ })).not.toBeInTheDocument();
  });

  it('gives an admin add, test and delete, and loads more pages', async () => {
    const user = userEvent.setup();
    api(admin_whoami);
    renderApp('/connectors');
    await screen.findByRole('table', { name: 'Connectors' });
    expect(await screen.findByRole('button', { name: /Add connector/ })).toBeInTheDocument();
    expect(screen.getByText('OK')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByRole('link', { name: 'billing' })).toBeInTheDocument();
    expect(screen.getByText('Not tested')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Test connection of crm' }));
    expect(await screen.findByText('crm: connection failed (12 ms)')).toBeInTheDocument();
    expect(screen.getByText('connection refused')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: /Add connector/ }));
    const dialog = await screen.findByRole('dialog', { name: 'Add connector' });
    expect(within(dialog).getByRole('link', { name: /REST API/ })).toHaveAttribute(
      'href',
      '/connectors/new/rest',
    );
  });

  it('offers each row only what the caller may do there, asked in one batch', async () => {
    const user = userEvent.setup();
    const crm = makeConnector();
    const erp = makeConnector({ id: 'c-erp', name: 'erp' });
    // Mia is editor on crm (edit, test) and viewer on erp; she may not create connectors.
    const api = mockApi({
      'GET /api/v1/auth/whoami': () => json(member_whoami),
      'GET /api/v1/interop/connector-types': () => json({ items: [rest_type] }),
      'GET /api/v1/interop/connectors': () => json({ items: [crm, erp], next_cursor: null }),
      'POST /api/v1/authz/check/batch': decideChecks(
        (check) =>
          check.resource === `connector:${crm.id}` && ['edit', 'test'].includes(check.action),
      ),
    });
    renderApp('/connectors');
    await screen.findByRole('button', { name: 'Test connection of crm' });
    expect(screen.queryByRole('button', { name: 'Test connection of erp' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'More actions for erp' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Add connector/ })).toBeNull();

    await user.click(screen.getByRole('button', { name: 'More actions for crm' }));
    const menu = await screen.findByRole('menu');
    expect(within(menu).getByRole('menuitem', { name: 'Edit' })).toBeInTheDocument();
    expect(within(menu).queryByRole('menuitem', { name: 'Delete' })).toBeNull();

    const batches = api.requests.filter((request) => request.path === '/api/v1/authz/check/batch');
    expect(batches).toHaveLength(1);
    const checks = (batches[0]?.body as { checks: MockCheck[] }).checks;
    expect(new Set(checks.map((check) => check.subject))).toEqual(new Set(['user:u-mia']));
    expect(checks.map((check) => `${check.action} ${check.resource}`).sort()).toEqual(
      [
        'create_connector platform:grimos',
        ...['delete', 'edit', 'test'].flatMap((action) => [
          `${action} connector:${crm.id}`,
          `${action} connector:c-erp`,
        ]),
      ].sort(),
    );
  });
});
