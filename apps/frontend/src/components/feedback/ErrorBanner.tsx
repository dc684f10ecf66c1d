import { AlertTriangle } from 'lucide-react';
import type { ReactNode } from 'react';
import { cn } from '@/lib/utils';

interface ErrorBannerProps {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  className?: string;
  tone?: 'error' | 'warning';
}

/** A problem that concerns the whole page or form, announced to screen readers. */
export function ErrorBanner({
  title,
  children,
  action,
  className,
  tone = 'error',
}: ErrorBannerProps) {
  return (
    <div
      role="alert"
      className={cn(
        'flex flex-col gap-3 rounded-lg border p-4 text-sm sm:flex-row sm:items-start',
        tone === 'error'
          ? 'border-destructive/40 bg-destructive/10'
          : 'border-warning/50 bg-warning/10',
        className,
      )}
    >
      <AlertTriangle
        aria-hidden="true"
        className={cn('size-5 shrink-0', tone === 'error' ? 'text-destructive' : 'text-warning')}
      />
      <div className="min-w-0 flex-1">
        <p className="font-semibold">{title}</p>
        {children && <div className="mt-1 text-muted-foreground">{children}</div>}
      </div>
      {action}
    </div>
  );
}
