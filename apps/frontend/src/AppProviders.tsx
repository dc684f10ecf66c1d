import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { domAnimation, LazyMotion, MotionConfig } from 'framer-motion';
import type { ReactNode } from 'react';
import { SessionProvider } from '@/auth/SessionProvider';
import { Toaster } from '@/components/ui/toaster';
import { TooltipProvider } from '@/components/ui/tooltip';
import { ThemeProvider } from '@/theme/ThemeProvider';

/** Everything the pages rely on: server state, session, theme, motion, tooltips, toasts. */
export function AppProviders({
  query_client,
  children,
}: {
  query_client: QueryClient;
  children: ReactNode;
}) {
  return (
    <QueryClientProvider client={query_client}>
      <ThemeProvider>
        <LazyMotion features={domAnimation} strict>
          <MotionConfig reducedMotion="user">
            <TooltipProvider delayDuration={300}>
              <SessionProvider>{children}</SessionProvider>
              <Toaster />
            </TooltipProvider>
          </MotionConfig>
        </LazyMotion>
      </ThemeProvider>
    </QueryClientProvider>
  );
}
