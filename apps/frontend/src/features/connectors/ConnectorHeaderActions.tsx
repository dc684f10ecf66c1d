import { Loader2, PlugZap, Trash2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Tooltip } from '@/components/ui/tooltip';

interface ConnectorHeaderActionsProps {
  testing: boolean;
  onTest: () => void;
  onDelete: () => void;
}

export function ConnectorHeaderActions({ testing, onTest, onDelete }: ConnectorHeaderActionsProps) {
  return (
    <div className="flex flex-wrap gap-2">
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
      <Button variant="outline" className="text-destructive" onClick={onDelete}>
        <Trash2 aria-hidden="true" />
        Delete
      </Button>
    </div>
  );
}
