import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { AppProviders } from './AppProviders';
import { AppRoutes } from './AppRoutes';
import { createQueryClient } from './query-client';
import { applyTheme, initialTheme } from './theme/theme-storage';
import './index.css';

// Set the theme before the first paint (no inline script in index.html: CSP).
applyTheme(initialTheme());

const root_element = document.getElementById('root');
if (root_element === null) throw new Error('index.html has no #root');

createRoot(root_element).render(
  <StrictMode>
    <BrowserRouter>
      <AppProviders query_client={createQueryClient()}>
        <AppRoutes />
      </AppProviders>
    </BrowserRouter>
  </StrictMode>,
);
