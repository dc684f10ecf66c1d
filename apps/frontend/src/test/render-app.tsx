import { render } from '@testing-library/react';
import { QueryClient } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import { AppProviders } from '@/AppProviders';
import { AppRoutes } from '@/AppRoutes';

/** The whole app at `path`, optionally signed in with a token kept in sessionStorage. */
export function renderApp(path: string, token: string | null = 'grm_test_token') {
  if (token !== null) window.sessionStorage.setItem('grimos.token', token);
  const query_client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AppProviders query_client={query_client}>
        <AppRoutes />
      </AppProviders>
    </MemoryRouter>,
  );
}
