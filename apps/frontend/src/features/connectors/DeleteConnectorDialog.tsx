import type { Connector } from '@/api/connectors-contract';
import { AlertDialog } from '@/components/ui/alert-dialog';
import { toast } from '@/components/ui/toast-store';
import { describeError } from './describe-error';
import { useDeleteConnector } from './useConnectorMutations';

interface DeleteConnectorDialogProps {
  connector: Pick<Connector, 'id' | 'name'> | null;
  onOpenChange: (open: boolean) => void;
  onDeleted?: () => void;
}

export function DeleteConnectorDialog({
  connector,
  onOpenChange,
  onDeleted,
}: DeleteConnectorDialogProps) {
  const deletion = useDeleteConnector();
  return (
    <AlertDialog
      open={connector !== null}
      onOpenChange={onOpenChange}
      title={`Delete ${connector?.name ?? 'connector'}?`}
      description="Flows that use this connector stop working. This cannot be undone."
      confirm_label={deletion.isPending ? 'Deleting…' : 'Delete connector'}
      busy={deletion.isPending}
      onConfirm={() => {
        if (connector === null) return;
        deletion.mutate(connector.id, {
          onSuccess: () => {
            toast.success(`Deleted ${connector.name}`);
            onOpenChange(false);
            onDeleted?.();
          },
          onError: (error) => toast.error('Could not delete the connector', describeError(error)),
        });
      }}
    />
  );
}
