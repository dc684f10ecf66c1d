import { Loader2, MoreHorizontal, Pencil, PlugZap, Trash2 } from 'lucide-react';
import { useNavigate } from 'react-router';
import type { Connector } from '@/api/connectors-contract';
import { Button } from '@/components/ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';
import { toast } from '@/components/ui/toast-store';
import { describeError } from './describe-error';
import { toastTestResult } from './test-result-toast';
import { useTestConnector } from './useConnectorMutations';

interface ConnectorRowActionsProps {
  connector: Connector;
  /** What the caller may do on this connector; a button is shown only for these. */
  allowed: { test: boolean; edit: boolean; delete: boolean };
  onDelete: (connector: Connector) => void;
}

/** Test, edit and delete for one row: each only when the caller may do it. */
export function ConnectorRowActions({ connector, allowed, onDelete }: ConnectorRowActionsProps) {
  const navigate = useNavigate();
  const test = useTestConnector();
  const runTest = () =>
    test.mutate(connector.id, {
      onSuccess: (result) => toastTestResult(connector.name, result),
      onError: (error) => toast.error(`Could not test ${connector.name}`, describeError(error)),
    });
  return (
    <div className="flex items-center justify-end gap-1">
      {allowed.test && (
        <Button
          variant="outline"
          size="sm"
          onClick={runTest}
          disabled={test.isPending}
          aria-label={`Test connection of ${connector.name}`}
        >
          {test.isPending ? (
            <Loader2 className="animate-spin" aria-hidden="true" />
          ) : (
            <PlugZap aria-hidden="true" />
          )}
          <span className="hidden sm:inline">Test</span>
        </Button>
      )}
      {(allowed.edit || allowed.delete) && (
        <DropdownMenu>
          <DropdownMenuTrigger asChild>
            <Button variant="ghost" size="icon" aria-label={`More actions for ${connector.name}`}>
              <MoreHorizontal aria-hidden="true" />
            </Button>
          </DropdownMenuTrigger>
          <DropdownMenuContent align="end">
            {allowed.edit && (
              <DropdownMenuItem onSelect={() => void navigate(`/connectors/${connector.id}`)}>
                <Pencil aria-hidden="true" />
                Edit
              </DropdownMenuItem>
            )}
            {allowed.edit && allowed.delete && <DropdownMenuSeparator />}
            {allowed.delete && (
              <DropdownMenuItem className="text-destructive" onSelect={() => onDelete(connector)}>
                <Trash2 aria-hidden="true" />
                Delete
              </DropdownMenuItem>
            )}
          </DropdownMenuContent>
        </DropdownMenu>
      )}
    </div>
  );
}
