import { Loader2 } from 'lucide-react';

export function FullPageSpinner() {
  return (
    <div className="grid min-h-dvh place-items-center" role="status">
      <Loader2 className="size-6 animate-spin text-primary" aria-hidden="true" />
      <span className="sr-only">Loading…</span>
    </div>
  );
}
