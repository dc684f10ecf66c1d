import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { admin_whoami, json, mockApi, problem, type MockRequest } from '@/test/mock-api';
import { renderApp } from '@/test/render-app';

const GOOD = 'grm_good_token_0123456789abcdef0123';

function whoami(request: MockRequest) {
  return request.headers.get('Authorization') === `Bearer ${GOOD}`
    ? json(admin_whoami)
    : problem(401, 'invalid_token', 'the token is not valid');
}

function emptyList() {
  return json({ items: [], next_cursor: null });
}

function noTypes() {
  return json({ items: [] });
}

describe('sign-in', () => {
  it('rejects a bad token, accepts a good one, shows who is signed in, and signs out', async () => {
    const user = userEvent.setup();
    mockApi({
      'GET /api/v1/auth/whoami': whoami,
      'GET /api/v1/interop/connectors': emptyList,
      'GET /api/v1/interop/connector-types': noTypes,
    });
    renderApp('/connectors', null);

    const token_input = await screen.findByLabelText('API token');
    await user.type(token_input, 'grm_wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText(/That token was not accepted/)).toBeInTheDocument();
    expect(window.sessionStorage.getItem('grimos.token')).toBeNull();

    await user.clear(token_input);
    await user.type(token_input, GOOD);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Connectors' })).toBeInTheDocument();
    expect(screen.getByTestId('current-user')).toHaveTextContent('Ada Admin');
    expect(screen.getByTestId('current-user')).toHaveTextContent('admin');
    expect(window.sessionStorage.getItem('grimos.token')).toBe(GOOD);

    await user.click(screen.getByRole('button', { name: /Account: Ada Admin/ }));
    await user.click(await screen.findByRole('menuitem', { name: 'Sign out' }));
    expect(await screen.findByLabelText('API token')).toBeInTheDocument();
    expect(window.sessionStorage.getItem('grimos.token')).toBeNull();
  });

  it('sends the user back to sign-in with a message when a call answers 401', async () => {
    mockApi({
      'GET /api/v1/auth/whoami': () => json(admin_whoami),
      'GET /api/v1/interop/connectors': () => problem(401, 'invalid_token', 'revoked'),
      'GET /api/v1/interop/connector-types': noTypes,
    });
    renderApp('/connectors');
    expect(await screen.findByText(/Your session has ended/)).toBeInTheDocument();
    expect(screen.getByLabelText('API token')).toBeInTheDocument();
    expect(window.sessionStorage.getItem('grimos.token')).toBeNull();
  });
});
