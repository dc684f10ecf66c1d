import { Link } from 'react-router';
import type { Action } from '@/api/authz-contract';
import type { Connector } from '@/api/connectors-contract';
import { Badge } from '@/components/ui/badge';
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from '@/components/ui/table';
import { formatAbsoluteTime, formatRelativeTime } from '@/lib/format-time';
import { ConnectorRowActions } from './ConnectorRowActions';
import { ConnectorStatusBadge } from './ConnectorStatusBadge';

interface ConnectorTableProps {
  connectors: Connector[];
  /** Whether the caller may do an action on an object (`useMyPermissions`). */
  can: (action: Action, resource: string) => boolean;
  onDelete: (connector: Connector) => void;
}

const ROW_ACTIONS: readonly Action[] = ['test', 'edit', 'delete'];

export function ConnectorTable({ connectors, can, onDelete }: ConnectorTableProps) {
  const allowed = (connector: Connector) => {
    const resource = `connector:${connector.id}`;
    return {
      test: can('test', resource),
      edit: can('edit', resource),
      delete: can('delete', resource),
    };
  };
  // The actions column is there when some row has an action the caller may take.
  const any_actions = connectors.some((connector) =>
    ROW_ACTIONS.some((action) => can(action, `connector:${connector.id}`)),
  );
  return (
    <Table aria-label="Connectors">
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead>Name</TableHead>
          <TableHead>Type</TableHead>
          <TableHead>Last test</TableHead>
          <TableHead className="hidden md:table-cell">Last updated</TableHead>
          {any_actions && (
            <TableHead className="text-right">
              <span className="sr-only">Actions</span>
            </TableHead>
          )}
        </TableRow>
      </TableHeader>
      <TableBody>
        {connectors.map((connector) => (
          <TableRow key={connector.id}>
            <TableCell className="max-w-48 font-medium">
              <Link
                to={`/connectors/${connector.id}`}
                className="block truncate rounded-sm hover:underline focus-visible:outline-2 focus-visible:outline-ring"
              >
                {connector.name}
              </Link>
            </TableCell>
            <TableCell>
              <Badge variant="accent">{connector.type}</Badge>
            </TableCell>
            <TableCell>
              <ConnectorStatusBadge last_test={connector.last_test ?? null} />
            </TableCell>
            <TableCell className="hidden text-muted-foreground md:table-cell">
              <time
                dateTime={connector.updated_at}
                title={formatAbsoluteTime(connector.updated_at)}
              >
                {formatRelativeTime(connector.updated_at)}
              </time>
            </TableCell>
            {any_actions && (
              <TableCell>
                <ConnectorRowActions
                  connector={connector}
                  allowed={allowed(connector)}
                  onDelete={onDelete}
                />
              </TableCell>
            )}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
