import { Navigate, useLocation } from 'react-router';
import { useSession } from '@/auth/useSession';
import { AnimatedOutlet } from './AnimatedOutlet';
import { FullPageSpinner } from './FullPageSpinner';
import { Header } from './Header';

/** The signed-in frame: header and the current page. Without a session → sign-in. */
export function AppShell() {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'checking') return <FullPageSpinner />;
  if (status === 'signed_out') {
    return <Navigate to="/sign-in" replace state={{ from: location.pathname }} />;
  }
  return (
    <div className="min-h-dvh">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-primary focus:px-3 focus:py-2 focus:text-primary-foreground"
      >
        Skip to content
      </a>
      <Header />
      <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:py-8">
        <AnimatedOutlet />
      </main>
    </div>
  );
}
