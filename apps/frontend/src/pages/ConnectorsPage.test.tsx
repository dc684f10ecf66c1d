import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { makeConnector } from '@/test/connector-fixtures';
import { admin_whoami, json, mockApi, viewer_whoami } from '@/test/mock-api';
import { renderApp } from '@/test/render-app';
import { rest_type } from '@/test/rest-spec-fixture';

function api(whoami: object) {
  return mockApi({
    'GET /api/v1/auth/whoami': () => json(whoami),
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
    api(viewer_whoami);
    renderApp('/connectors');
    const table = await screen.findByRole('table', { name: 'Connectors' });
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
    expect(screen.getByRole('button', { name: /Add connector/ })).toBeInTheDocument();
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
});
