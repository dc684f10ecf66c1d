import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from '@/components/layout/AppShell';
import { ConnectorsPage } from '@/pages/ConnectorsPage';
import { EditConnectorPage } from '@/pages/EditConnectorPage';
import { NewConnectorPage } from '@/pages/NewConnectorPage';
import { NotFoundPage } from '@/pages/NotFoundPage';
import { SignInPage } from '@/pages/SignInPage';

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route element={<AppShell />}>
        <Route index element={<Navigate to="/connectors" replace />} />
        <Route path="/connectors" element={<ConnectorsPage />} />
        <Route path="/connectors/new/:type" element={<NewConnectorPage />} />
        <Route path="/connectors/:id" element={<EditConnectorPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
