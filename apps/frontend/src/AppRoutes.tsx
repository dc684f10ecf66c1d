import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from '@/components/layout/AppShell';
import { ConnectorsPage } from '@/pages/ConnectorsPage';
import { EditConnectorPage } from '@/pages/EditConnectorPage';
import { NewConnectorPage } from '@/pages/NewConnectorPage';
import { NotFoundPage } from '@/pages/NotFoundPage';
import { Skeleton } from '@/components/ui/skeleton';
import { SignInPage } from '@/pages/SignInPage';

// The policy pages (and the code editor they load) are fetched when first opened.
const PoliciesPage = lazy(() =>
  import('@/pages/PoliciesPage').then((module) => ({ default: module.PoliciesPage })),
);
const PolicyEditorPage = lazy(() =>
  import('@/pages/PolicyEditorPage').then((module) => ({ default: module.PolicyEditorPage })),
);

function Deferred({ children }: { children: ReactNode }) {
  return (
    <Suspense
      fallback={
        <div className="grid gap-4" aria-busy="true">
          <Skeleton className="h-8 w-64" />
          <Skeleton className="h-64" />
        </div>
      }
    >
      {children}
    </Suspense>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route element={<AppShell />}>
        <Route index element={<Navigate to="/connectors" replace />} />
        <Route path="/connectors" element={<ConnectorsPage />} />
        <Route path="/connectors/new/:type" element={<NewConnectorPage />} />
        <Route path="/connectors/:id" element={<EditConnectorPage />} />
        <Route
          path="/policies"
          element={
            <Deferred>
              <PoliciesPage />
            </Deferred>
          }
        />
        <Route
          path="/policies/:id"
          element={
            <Deferred>
              <PolicyEditorPage />
            </Deferred>
          }
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
