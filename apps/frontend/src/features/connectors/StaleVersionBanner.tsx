import { RefreshCw } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';

/** 412: someone saved a newer version while this form was open. */
export function StaleVersionBanner({
  onReload,
  reloading,
}: {
  onReload: () => void;
  reloading: boolean;
}) {
  return (
    <ErrorBanner
      tone="warning"
      title="Someone else changed this connector while you were editing"
      action={
        <Button variant="outline" size="sm" onClick={onReload} disabled={reloading}>
          <RefreshCw aria-hidden="true" className={reloading ? 'animate-spin' : undefined} />
          Reload latest version
        </Button>
      }
    >
      Your changes were not saved and are still in the form. Copy what you need, then reload the
      latest version and apply your changes again.
    </ErrorBanner>
  );
}
