import { Loader2, PlugZap, Trash2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Tooltip } from '@/components/ui/tooltip';

interface ConnectorHeaderActionsProps {
  /** Shown only when the caller may test the connector. */
  can_test: boolean;
  /** Shown only when the caller may delete the connector. */
  can_delete: boolean;
  testing: boolean;
  onTest: () => void;
  onDelete: () => void;
}

export function ConnectorHeaderActions({
  can_test,
  can_delete,
  testing,
  onTest,
  onDelete,
}: ConnectorHeaderActionsProps) {
  return (
    <div className="flex flex-wrap gap-2">
      {can_test && (
        <Tooltip content="Tests the saved configuration">
          <Button variant="outline" onClick={onTest} disabled={testing}>
            {testing ? (
              <Loader2 className="animate-spin" aria-hidden="true" />
            ) : (
              <PlugZap aria-hidden="true" />
            )}
            Test connection
          </Button>
        </Tooltip>
      )}
      {can_delete && (
        <Button variant="outline" className="text-destructive" onClick={onDelete}>
          <Trash2 aria-hidden="true" />
          Delete
        </Button>
      )}
    </div>
  );
}
