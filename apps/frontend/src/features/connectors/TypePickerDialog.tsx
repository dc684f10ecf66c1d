import { ChevronRight, Database, Globe, Plug } from 'lucide-react';
import { Link } from 'react-router';
import type { ConnectorType } from '@/api/connectors-contract';
import { Dialog } from '@/components/ui/dialog';
import { Skeleton } from '@/components/ui/skeleton';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { describeError } from './describe-error';
import { useConnectorTypes } from './useConnectorTypes';

const ICONS: Record<string, typeof Plug> = { rest: Globe, sql: Database };

function TypeOption({ item, onPick }: { item: ConnectorType; onPick: () => void }) {
  const Icon = ICONS[item.type] ?? Plug;
  return (
    <li>
      <Link
        to={`/connectors/new/${encodeURIComponent(item.type)}`}
        onClick={onPick}
        className="flex items-center gap-3 rounded-lg border p-4 transition-colors hover:border-primary/60 hover:bg-muted/50 focus-visible:outline-2 focus-visible:outline-ring"
      >
        <span className="grid size-10 shrink-0 place-items-center rounded-md bg-primary/15 text-primary">
          <Icon className="size-5" aria-hidden="true" />
        </span>
        <span className="min-w-0 flex-1">
          <span className="block font-medium">{item.title}</span>
          <span className="block text-sm text-muted-foreground">{item.description}</span>
        </span>
        <ChevronRight className="size-4 text-muted-foreground" aria-hidden="true" />
      </Link>
    </li>
  );
}

/** Step one of adding a connector: choose its type. */
export function TypePickerDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const types = useConnectorTypes();
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Add connector"
      description="Choose what kind of system to connect."
    >
      {types.isPending && (
        <div className="grid gap-3">
          <Skeleton className="h-18" />
          <Skeleton className="h-18" />
        </div>
      )}
      {types.isError && (
        <ErrorBanner title="Could not load the connector types">
          {describeError(types.error)}
        </ErrorBanner>
      )}
      {types.data && (
        <ul className="grid gap-3" aria-label="Connector types">
          {types.data.map((item) => (
            <TypeOption key={item.type} item={item} onPick={() => onOpenChange(false)} />
          ))}
        </ul>
      )}
    </Dialog>
  );
}
