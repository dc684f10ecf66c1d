import { Link } from 'react-router';
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
  can_manage: boolean;
  onDelete: (connector: Connector) => void;
}

export function ConnectorTable({ connectors, can_manage, onDelete }: ConnectorTableProps) {
  return (
    <Table aria-label="Connectors">
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead>Name</TableHead>
          <TableHead>Type</TableHead>
          <TableHead>Last test</TableHead>
          <TableHead className="hidden md:table-cell">Last updated</TableHead>
          {can_manage && (
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
            {can_manage && (
              <TableCell>
                <ConnectorRowActions connector={connector} onDelete={onDelete} />
              </TableCell>
            )}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
