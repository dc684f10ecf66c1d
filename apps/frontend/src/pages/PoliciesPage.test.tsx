import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EditorView } from '@codemirror/view';
import { describe, expect, it } from 'vitest';
import { admin_whoami, json, mockApi, problem, viewer_whoami } from '@/test/mock-api';
import { renderApp } from '@/test/render-app';

const HOURS = {
  id: 'p1',
  name: 'hours',
  version: 2,
  source: 'package grimos.policies.hours\n\ndeny contains msg if {\n\tfalse\n\tmsg := "x"\n}\n',
  created_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-02T10:00:00Z',
};

async function editorView(): Promise<EditorView> {
  const host = await screen.findByTestId('code-editor');
  const content = await waitFor(() => {
    const found = host.querySelector('.cm-content');
    if (found === null) throw new Error('the editor is not there yet');
    return found as HTMLElement;
  });
  const view = EditorView.findFromDOM(content);
  if (view === null) throw new Error('no editor view');
  return view;
}

describe('policies', () => {
  it('lists the policies, with a nav entry for admins only', async () => {
    mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'GET /api/v1/authz/policies': () => json({ items: [HOURS], next_cursor: null }),
    });
    renderApp('/policies');
    const table = await screen.findByRole('table', { name: 'Policies' });
    expect(within(table).getByRole('link', { name: 'hours' })).toHaveAttribute(
      'href',
      '/policies/p1',
    );
    expect(within(table).getByText('v2')).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Policies' })).toBeInTheDocument();
  });

  it('hides the nav entry from other roles', async () => {
    mockApi({
      'GET /api/v1/auth/whoami': () => json(viewer_whoami),
      'GET /api/v1/interop/connectors': () => json({ items: [] }),
      'GET /api/v1/interop/connector-types': () => json({ items: [] }),
    });
    renderApp('/connectors');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    await within(nav).findByRole('link', { name: 'Connectors' });
    expect(within(nav).queryByRole('link', { name: 'Policies' })).toBeNull();
  });

  it('marks a compile error at its line and column in the editor', async () => {
    const actor = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'POST /api/v1/authz/policies': () =>
        json(
          {
            type: 'urn:grimos:problem:policy_invalid',
            title: 'Unprocessable Entity',
            status: 422,
            code: 'policy_invalid',
            detail: 'policy "hours" does not compile at line 4, column 6: unexpected keyword',
            errors: [{ path: '/source', message: 'line 4, column 6: unexpected keyword' }],
            policy: 'hours',
            line: 4,
            column: 6,
          },
          { status: 422 },
        ),
    });
    renderApp('/policies/new');
    await actor.type(await screen.findByLabelText('Name'), 'hours');
    const view = await editorView();
    // The template's package follows the name.
    expect(view.state.doc.line(1).text).toBe('package grimos.policies.hours');
    await actor.click(screen.getByRole('button', { name: 'Create policy' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The policy does not compile: line 4, column 6');
    expect(alert).toHaveTextContent('unexpected keyword');
    const marked = await waitFor(() => {
      const range = document.querySelector('.cm-lintRange-error');
      if (range === null) throw new Error('no lint range yet');
      return range;
    });
    // Line 4 of the template is `deny contains msg if {`: column 6 starts `contains`.
    expect(marked.textContent).toBe('contains');
    expect(document.querySelector('.cm-lint-marker-error')).not.toBeNull();
    const body = api.find('POST')?.body as { name: string; source: string };
    expect(body.name).toBe('hours');
    expect(body.source).toBe(view.state.doc.toString());
  });

  it('lists the failing tests when a save is refused for them', async () => {
    const actor = userEvent.setup();
    mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'POST /api/v1/authz/policies': () =>
        json(
          {
            type: 'urn:grimos:problem:policy_invalid',
            title: 'Unprocessable Entity',
            status: 422,
            code: 'policy_invalid',
            detail:
              'policy "hours" compiles but 1 of its tests fail: grimos.policies.hours.test_a; nothing was saved',
            errors: [{ path: '/source', message: 'grimos.policies.hours.test_a fails: false' }],
            policy: 'hours',
            failed_tests: [
              {
                policy: 'hours',
                test: 'grimos.policies.hours.test_a',
                passed: false,
                error: 'false',
              },
            ],
          },
          { status: 422 },
        ),
    });
    renderApp('/policies/new');
    await actor.type(await screen.findByLabelText('Name'), 'hours');
    await editorView();
    await actor.click(screen.getByRole('button', { name: 'Create policy' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not save the policy');
    expect(alert).toHaveTextContent('grimos.policies.hours.test_a fails: false');
    expect(document.querySelector('.cm-lintRange-error')).toBeNull();
  });

  it('does not mark this editor when the error is in another stored policy', async () => {
    const actor = userEvent.setup();
    mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'POST /api/v1/authz/policies': () =>
        json(
          {
            type: 'urn:grimos:problem:policy_invalid',
            title: 'Unprocessable Entity',
            status: 422,
            code: 'policy_invalid',
            detail: 'policy "other" does not compile at line 2, column 1: conflicting rules',
            errors: [],
            policy: 'other',
            line: 2,
            column: 1,
          },
          { status: 422 },
        ),
    });
    renderApp('/policies/new');
    await actor.type(await screen.findByLabelText('Name'), 'hours');
    await editorView();
    await actor.click(screen.getByRole('button', { name: 'Create policy' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('policy "other" does not compile at line 2, column 1');
    expect(document.querySelector('.cm-lintRange-error')).toBeNull();
  });

  it('refuses a name the server would refuse, before sending', async () => {
    const actor = userEvent.setup();
    const api = mockApi({ 'GET /api/v1/auth/whoami': () => json(admin_whoami) });
    renderApp('/policies/new');
    await actor.type(await screen.findByLabelText('Name'), 'Bad-Name');
    await actor.click(screen.getByRole('button', { name: 'Create policy' }));
    expect(await screen.findByText(/A name is a lowercase letter/)).toBeInTheDocument();
    expect(api.find('POST')).toBeUndefined();
  });

  it('saves an edit with If-Match, runs the tests and dry-runs the draft', async () => {
    const actor = userEvent.setup();
    let stored = HOURS;
    const api = mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'GET /api/v1/authz/policies/p1': () =>
        json(stored, { headers: { ETag: `"${stored.version}"` } }),
      'PUT /api/v1/authz/policies/p1': (request) => {
        if (request.headers.get('If-Match') !== `"${stored.version}"`)
          return problem(412, 'precondition_failed', 'stale');
        const { source } = request.body as { source: string };
        stored = { ...stored, source, version: stored.version + 1 };
        return json({ ...stored, revision: '12' }, { headers: { ETag: `"${stored.version}"` } });
      },
      'POST /api/v1/authz/policies/p1/test': () =>
        json({
          passed: false,
          tests: [
            {
              policy: 'hours',
              test: 'grimos.policies.hours.test_weekend_denied',
              passed: true,
              error: null,
            },
            {
              policy: 'hours',
              test: 'grimos.policies.hours.test_night_denied',
              passed: false,
              error: 'undefined',
            },
          ],
        }),
      'POST /api/v1/authz/policies/dry-run': (request) => {
        const { inputs } = request.body as { inputs: { action: string }[] };
        return json({
          policies: ['hours'],
          results: inputs.map((input) => ({
            denied: input.action === 'edit',
            error: null,
            denials:
              input.action === 'edit'
                ? [
                    {
                      policy: 'hours',
                      rule: 'grimos.policies.hours.deny',
                      line: 3,
                      message: 'operators change nothing outside 09:00–17:00',
                    },
                  ]
                : [],
          })),
        });
      },
    });
    renderApp('/policies/p1');
    const view = await editorView();
    expect(view.state.doc.toString()).toBe(HOURS.source);
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeDisabled();
    act(() => {
      view.dispatch({ changes: { from: view.state.doc.length, insert: '# reviewed\n' } });
    });
    await actor.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('v3');
    const put = api.requests.find((request) => request.method === 'PUT');
    expect(put?.headers.get('If-Match')).toBe('"2"');
    expect(put?.body).toEqual({ source: `${HOURS.source}# reviewed\n` });

    await actor.click(screen.getByRole('button', { name: 'Run tests' }));
    const results = await screen.findByRole('list', { name: 'Test results' });
    const items = within(results).getAllByRole('listitem');
    expect(items.map((item) => item.getAttribute('data-passed'))).toEqual(['true', 'false']);
    expect(items[1]).toHaveTextContent('grimos.policies.hours.test_night_denied failed');
    expect(items[1]).toHaveTextContent('undefined');
    expect(screen.getByText('1 failed')).toBeInTheDocument();

    const inputs = screen.getByLabelText(/^Inputs/);
    await actor.clear(inputs);
    await actor.click(inputs);
    await actor.paste('[{"action": "view"}, {"action": "edit"}]');
    await actor.click(screen.getByRole('button', { name: 'Dry run' }));
    const outcome = await screen.findByRole('list', { name: 'Dry-run results' });
    expect(outcome).toHaveTextContent('Input 1: no policy denies it');
    expect(outcome).toHaveTextContent('Input 2: denied by 1 rule');
    expect(outcome).toHaveTextContent('operators change nothing outside 09:00–17:00');
    const dry = api.requests.find((request) => request.path.endsWith('/dry-run'));
    expect(dry?.body).toEqual({
      name: 'hours',
      source: `${HOURS.source}# reviewed\n`,
      inputs: [{ action: 'view' }, { action: 'edit' }],
    });
  });

  it('says what is wrong with dry-run inputs that are not JSON objects', async () => {
    const actor = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'GET /api/v1/authz/policies/p1': () => json(HOURS, { headers: { ETag: '"2"' } }),
    });
    renderApp('/policies/p1');
    const inputs = await screen.findByLabelText(/^Inputs/);
    await actor.clear(inputs);
    await actor.click(inputs);
    await actor.paste('[1, 2]');
    await actor.click(screen.getByRole('button', { name: 'Dry run' }));
    expect(await screen.findByText(/Each input is a JSON object/)).toBeInTheDocument();
    expect(api.requests.some((request) => request.path.endsWith('/dry-run'))).toBe(false);
  });
});
