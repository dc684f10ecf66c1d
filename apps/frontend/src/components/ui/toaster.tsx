import { AnimatePresence, m } from 'framer-motion';
import { CheckCircle2, Info, X, XCircle } from 'lucide-react';
import { useSyncExternalStore } from 'react';
import { cn } from '@/lib/utils';
import { currentToasts, dismissToast, subscribeToasts, type ToastKind } from './toast-store';

const ICONS = { success: CheckCircle2, error: XCircle, info: Info } as const;
const TONES: Record<ToastKind, string> = {
  success: 'text-success',
  error: 'text-destructive',
  info: 'text-accent',
};

/** Renders the notifications in a polite live region at the bottom right. */
export function Toaster() {
  const items = useSyncExternalStore(subscribeToasts, currentToasts);
  return (
    <div
      aria-live="polite"
      aria-label="Notifications"
      role="region"
      className="pointer-events-none fixed right-0 bottom-0 z-[60] flex w-full max-w-sm flex-col gap-2 p-4"
    >
      <AnimatePresence initial={false}>
        {items.map((item) => {
          const Icon = ICONS[item.kind];
          return (
            <m.div
              key={item.id}
              layout
              initial={{ opacity: 0, y: 16 }}
              animate={{ opacity: 1, y: 0 }}
              exit={{ opacity: 0, x: 40 }}
              className="pointer-events-auto flex items-start gap-3 rounded-lg border bg-popover p-3 text-sm text-popover-foreground shadow-lg"
              role={item.kind === 'error' ? 'alert' : 'status'}
            >
              <Icon className={cn('mt-0.5 size-4 shrink-0', TONES[item.kind])} aria-hidden="true" />
              <div className="min-w-0 flex-1">
                <p className="font-medium">{item.title}</p>
                {item.description && (
                  <p className="mt-0.5 break-words text-muted-foreground">{item.description}</p>
                )}
              </div>
              <button
                type="button"
                onClick={() => dismissToast(item.id)}
                className="rounded-sm opacity-60 hover:opacity-100 focus-visible:outline-2 focus-visible:outline-ring"
              >
                <X className="size-4" aria-hidden="true" />
                <span className="sr-only">Dismiss notification</span>
              </button>
            </m.div>
          );
        })}
      </AnimatePresence>
    </div>
  );
}
