import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Relationship } from '@/api/authz-contract';
import { makeConnector } from '@/test/connector-fixtures';
import {
  admin_whoami,
  decideChecks,
  decideForRole,
  json,
  member_whoami,
  mockApi,
  problem,
} from '@/test/mock-api';
import { sessionWrapper } from '@/test/session-wrapper';
import { AccessPanel } from './AccessPanel';
import { renderApp } from '@/test/render-app';
import { rest_type } from '@/test/rest-spec-fixture';

const ID = '0190a0b0-0000-7000-8000-000000000001';
const RESOURCE = `connector:${ID}`;
const user = (id: string, name: string, role = 'member') => ({
  id,
  name,
  role,
  disabled: false,
  version: 1,
  created_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-01T10:00:00Z',
});

function serve(initial: Relationship[], extra: Parameters<typeof mockApi>[0] = {}) {
  let tuples = [...initial];
  const api = mockApi({
    'GET /api/v1/auth/whoami': () => json(admin_whoami),
    'POST /api/v1/authz/check/batch': decideForRole('admin'),
    'GET /api/v1/interop/connector-types': () => json({ items: [rest_type] }),
    [`GET /api/v1/interop/connectors/${ID}`]: () =>
      json(makeConnector(), { headers: { ETag: '"3"' } }),
    'GET /api/v1/users': () =>
      json({ items: [user('u1', 'ada', 'admin'), user('u2', 'bob'), user('u3', 'cy')] }),
    'GET /api/v1/authz/groups': () =>
      json({ items: [{ id: 'sre', display_name: 'SRE', description: null }] }),
    'GET /api/v1/authz/relationships': (request) =>
      request.search.get('resource_type') === 'connector' &&
      request.search.get('resource_id') === ID
        ? json({ items: tuples, next_cursor: null })
        : problem(422, 'validation_failed', 'wrong filter'),
    'POST /api/v1/authz/relationships': (request) => {
      const body = request.body as { writes: Relationship[]; deletes: Relationship[] };
      const same = (a: Relationship) => (b: Relationship) =>
        a.relation === b.relation && a.subject === b.subject;
      tuples = tuples.filter((tuple) => !body.deletes.some(same(tuple)));
      tuples.push(...body.writes);
      return json({ revision: '42' });
    },
    ...extra,
  });
  return api;
}

describe('access panel', () => {
  it('lists who holds which relation, with names for users and groups', async () => {
    serve([
      { resource: RESOURCE, relation: 'owner', subject: 'user:u1' },
      { resource: RESOURCE, relation: 'viewer', subject: 'group:sre#member' },
    ]);
    renderApp(`/connectors/${ID}`);
    const table = await screen.findByRole('table', { name: 'Who has access' });
    await within(table).findByText('ada');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => row.textContent)).toEqual([
      expect.stringContaining('owner'),
      expect.stringContaining('viewer'),
    ]);
    expect(rows[1]).toHaveTextContent('SRE (members)');
  });

  it('adds a user with a relation, and removes one', async () => {
    const actor = userEvent.setup();
    const api = serve([{ resource: RESOURCE, relation: 'owner', subject: 'user:u1' }]);
    renderApp(`/connectors/${ID}`);
    const form = await screen.findByRole('form', { name: 'Add access' });
    await within(form).findByRole('option', { name: 'bob (member)' });
    await actor.selectOptions(within(form).getByLabelText('User'), 'bob (member)');
    await actor.selectOptions(within(form).getByLabelText('Relation'), 'editor');
    await actor.click(within(form).getByRole('button', { name: 'Add' }));
    await screen.findByRole('button', { name: 'Remove bob as editor' });
    expect(api.find('POST', '/api/v1/authz/relationships')?.body).toEqual({
      writes: [{ resource: RESOURCE, relation: 'editor', subject: 'user:u2' }],
      deletes: [],
    });

    await actor.click(screen.getByRole('button', { name: 'Remove bob as editor' }));
    await waitFor(() =>
      expect(screen.queryByRole('button', { name: 'Remove bob as editor' })).toBeNull(),
    );
    expect(
      api.requests
        .filter(
          (request) => request.method === 'POST' && request.path === '/api/v1/authz/relationships',
        )
        .at(-1)?.body,
    ).toEqual({
      writes: [],
      deletes: [{ resource: RESOURCE, relation: 'editor', subject: 'user:u2' }],
    });
  });

  it('gives a group through its members userset', async () => {
    const actor = userEvent.setup();
    const api = serve([]);
    renderApp(`/connectors/${ID}`);
    const form = await screen.findByRole('form', { name: 'Add access' });
    await actor.selectOptions(within(form).getByLabelText('Who'), 'Group');
    await within(form).findByRole('option', { name: 'SRE' });
    await actor.selectOptions(within(form).getByLabelText('Group'), 'SRE');
    await actor.click(within(form).getByRole('button', { name: 'Add' }));
    await screen.findByRole('button', { name: 'Remove SRE (members) as viewer' });
    expect(api.find('POST', '/api/v1/authz/relationships')?.body).toEqual({
      writes: [{ resource: RESOURCE, relation: 'viewer', subject: 'group:sre#member' }],
      deletes: [],
    });
  });

  it('explains why a user may or may not do something', async () => {
    const actor = userEvent.setup();
    const api = serve([], {
      'POST /api/v1/authz/check': () =>
        json({
          allowed: true,
          revision: '9',
          reasons: [
            {
              kind: 'relationship',
              summary: `${RESOURCE}#editor ← group:sre#member ← user:u3`,
              path: [`${RESOURCE}#editor`, 'group:sre#member', 'user:u3'],
            },
          ],
        }),
    });
    renderApp(`/connectors/${ID}`);
    const form = await screen.findByRole('form', { name: 'Why' });
    await within(form).findByRole('option', { name: 'cy (member)' });
    await actor.selectOptions(within(form).getByLabelText('User'), 'cy (member)');
    await actor.selectOptions(within(form).getByLabelText('Action'), 'edit');
    await actor.click(within(form).getByRole('button', { name: 'Check' }));
    const path = await screen.findByRole('list', { name: 'Relation path' });
    expect(
      within(path)
        .getAllByRole('listitem')
        .map((item) => item.textContent),
    ).toEqual(['this connector #editor', 'SRE (members)', 'cy']);
    expect(api.find('POST', '/api/v1/authz/check')?.body).toEqual({
      subject: 'user:u3',
      action: 'edit',
      resource: RESOURCE,
    });
  });

  it('checks at least at the revision of the last change made in the panel', async () => {
    const actor = userEvent.setup();
    const api = serve([], {
      'POST /api/v1/authz/check': () => json({ allowed: true, revision: '42', reasons: [] }),
    });
    renderApp(`/connectors/${ID}`);
    const add = await screen.findByRole('form', { name: 'Add access' });
    await within(add).findByRole('option', { name: 'bob (member)' });
    await actor.selectOptions(within(add).getByLabelText('User'), 'bob (member)');
    await actor.click(within(add).getByRole('button', { name: 'Add' }));
    await screen.findByRole('button', { name: 'Remove bob as viewer' });
    const why = screen.getByRole('form', { name: 'Why' });
    await actor.selectOptions(within(why).getByLabelText('User'), 'bob (member)');
    await actor.click(within(why).getByRole('button', { name: 'Check' }));
    await screen.findByText('at revision 42');
    const check = api.requests.find((request) => request.path === '/api/v1/authz/check');
    expect(check?.body).toEqual({
      subject: 'user:u2',
      action: 'view',
      resource: RESOURCE,
      at_least: '42',
    });
  });

  it('shows a failed check as a problem', async () => {
    const actor = userEvent.setup();
    serve([], {
      'POST /api/v1/authz/check': () =>
        problem(422, 'invalid_authz_reference', 'unknown action "fly" for connector'),
    });
    renderApp(`/connectors/${ID}`);
    const form = await screen.findByRole('form', { name: 'Why' });
    await within(form).findByRole('option', { name: 'cy (member)' });
    await actor.selectOptions(within(form).getByLabelText('User'), 'cy (member)');
    await actor.click(within(form).getByRole('button', { name: 'Check' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not check access');
    expect(alert).toHaveTextContent('unknown action "fly" for connector');
  });

  it('stays quiet for a caller who may not see who has access', async () => {
    serve([], {
      'GET /api/v1/authz/relationships': () => problem(403, 'forbidden', 'not allowed'),
    });
    renderApp(`/connectors/${ID}`);
    expect(await screen.findByText(/You may not see who has access/)).toBeInTheDocument();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('on its own, asks whether the caller may manage the object before listing anyone', async () => {
    const api = serve([{ resource: RESOURCE, relation: 'owner', subject: 'user:u-mia' }], {
      'POST /api/v1/authz/check/batch': decideChecks(
        (check) => check.subject === 'user:u-mia' && check.action === 'manage',
      ),
    });
    const Wrapper = sessionWrapper(member_whoami);
    render(
      <Wrapper>
        <AccessPanel resource={RESOURCE} relations={['owner', 'viewer']} actions={['view']} />
      </Wrapper>,
    );
    await screen.findByRole('form', { name: 'Add access' });
    expect(api.find('POST', '/api/v1/authz/check/batch')?.body).toEqual({
      checks: [{ subject: 'user:u-mia', action: 'manage', resource: RESOURCE }],
    });
  });

  it('offers no list, add or remove to a caller who may not manage the object', async () => {
    const api = serve([{ resource: RESOURCE, relation: 'owner', subject: 'user:u1' }], {
      'POST /api/v1/authz/check/batch': decideChecks(() => false),
    });
    const Wrapper = sessionWrapper(member_whoami);
    render(
      <Wrapper>
        <AccessPanel resource={RESOURCE} relations={['owner', 'viewer']} actions={['view']} />
      </Wrapper>,
    );
    expect(await screen.findByText(/You may not see who has access/)).toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'Add access' })).toBeNull();
    expect(screen.queryByRole('table', { name: 'Who has access' })).toBeNull();
    expect(api.find('GET', '/api/v1/authz/relationships')).toBeUndefined();
  });
});
