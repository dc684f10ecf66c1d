import { Plus } from 'lucide-react';
import { useState } from 'react';
import type { Connector } from '@/api/connectors-contract';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { PLATFORM, useMyPermissions } from '@/features/access/useMyPermissions';
import { ConnectorFilters } from '@/features/connectors/ConnectorFilters';
import { ConnectorListSkeleton } from '@/features/connectors/ConnectorListSkeleton';
import { ConnectorsEmptyState } from '@/features/connectors/ConnectorsEmptyState';
import { ConnectorTable } from '@/features/connectors/ConnectorTable';
import { DeleteConnectorDialog } from '@/features/connectors/DeleteConnectorDialog';
import { describeError } from '@/features/connectors/describe-error';
import { TypePickerDialog } from '@/features/connectors/TypePickerDialog';
import { useConnectorList } from '@/features/connectors/useConnectorList';
import { useConnectorTypes } from '@/features/connectors/useConnectorTypes';
import { useDebouncedValue } from '@/lib/useDebouncedValue';

/** What a row's buttons need. */
const ROW_ACTIONS = ['test', 'edit', 'delete'] as const;

export function ConnectorsPage() {
  const [search, setSearch] = useState('');
  const [type, setType] = useState('');
  const [picking_type, setPickingType] = useState(false);
  const [deleting, setDeleting] = useState<Connector | null>(null);
  const q = useDebouncedValue(search.trim(), 300);
  const list = useConnectorList(q, type);
  const types = useConnectorTypes();
  const connectors = list.data?.pages.flatMap((page) => page.items) ?? [];
  // One batch for the page once its rows are in: may the caller add connectors, and test,
  // edit, delete each row? (Loading more rows asks again for all of them.)
  const permissions = useMyPermissions(
    list.isPending
      ? []
      : [
          { resource: PLATFORM, actions: ['create_connector'] },
          ...connectors.map((connector) => ({
            resource: `connector:${connector.id}`,
            actions: ROW_ACTIONS,
          })),
        ],
  );
  const can_create = permissions.can('create_connector', PLATFORM);

  const add_button = can_create && (
    <Button onClick={() => setPickingType(true)}>
      <Plus aria-hidden="true" />
      Add connector
    </Button>
  );

  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Connectors</h1>
          <p className="text-sm text-muted-foreground">
            Connections to the external systems your flows read and write.
          </p>
        </div>
        {add_button}
      </div>
      <ConnectorFilters
        search={search}
        onSearchChange={setSearch}
        type={type}
        onTypeChange={setType}
        types={types.data ?? []}
      />
      <Card className="overflow-hidden">
        {list.isPending && <ConnectorListSkeleton />}
        {list.isError && (
          <div className="p-4">
            <ErrorBanner
              title="Could not load the connectors"
              action={
                <Button variant="outline" size="sm" onClick={() => void list.refetch()}>
                  Try again
                </Button>
              }
            >
              {describeError(list.error)}
            </ErrorBanner>
          </div>
        )}
        {list.isSuccess && connectors.length === 0 && (
          <ConnectorsEmptyState filtered={q !== '' || type !== ''} action={add_button} />
        )}
        {connectors.length > 0 && (
          <ConnectorTable connectors={connectors} can={permissions.can} onDelete={setDeleting} />
        )}
      </Card>
      {list.hasNextPage && (
        <div className="flex justify-center">
          <Button
            variant="outline"
            onClick={() => void list.fetchNextPage()}
            disabled={list.isFetchingNextPage}
          >
            {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </Button>
        </div>
      )}
      {can_create && <TypePickerDialog open={picking_type} onOpenChange={setPickingType} />}
      <DeleteConnectorDialog
        connector={deleting}
        onOpenChange={(open) => !open && setDeleting(null)}
      />
    </div>
  );
}
