import { Plug } from 'lucide-react';
import type { ReactNode } from 'react';

export function ConnectorsEmptyState({
  filtered,
  action,
}: {
  filtered: boolean;
  action?: ReactNode;
}) {
  return (
    <div className="flex flex-col items-center gap-3 px-6 py-14 text-center">
      <span className="grid size-12 place-items-center rounded-full bg-primary/15 text-primary">
        <Plug className="size-6" aria-hidden="true" />
      </span>
      <p className="font-medium">{filtered ? 'No connectors match' : 'No connectors yet'}</p>
      <p className="max-w-sm text-sm text-muted-foreground">
        {filtered
          ? 'Try another name or type.'
          : 'A connector links grimOS to an external system, such as a REST API or a SQL database.'}
      </p>
      {!filtered && action}
    </div>
  );
}
