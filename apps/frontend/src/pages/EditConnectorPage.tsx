import { useNavigate, useParams } from 'react-router';
import { useState } from 'react';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { BackLink } from '@/components/layout/BackLink';
import { Badge } from '@/components/ui/badge';
import { Skeleton } from '@/components/ui/skeleton';
import { toast } from '@/components/ui/toast-store';
import { connector_access } from '@/features/access/access-schema';
import { AccessPanel } from '@/features/access/AccessPanel';
import { useMyPermissions } from '@/features/access/useMyPermissions';
import { ConnectorForm } from '@/features/connectors/ConnectorForm';
import { ConnectorHeaderActions } from '@/features/connectors/ConnectorHeaderActions';
import { ConnectorStatusBadge } from '@/features/connectors/ConnectorStatusBadge';
import { DeleteConnectorDialog } from '@/features/connectors/DeleteConnectorDialog';
import { describeError } from '@/features/connectors/describe-error';
import { TestResultView } from '@/features/connectors/TestResultView';
import { useConnector } from '@/features/connectors/useConnector';
import { useTestConnector, useUpdateConnector } from '@/features/connectors/useConnectorMutations';
import { useConnectorTypes } from '@/features/connectors/useConnectorTypes';

/** What the page's controls need: the form (edit), its buttons, the access panel (manage). */
const CONNECTOR_PAGE_ACTIONS = ['edit', 'test', 'delete', 'manage'] as const;

export function EditConnectorPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const resource = `connector:${id}`;
  // Asked of the decision point about the caller: a member may edit what is shared with
  // them, an operator may be refused by a policy.
  const permissions = useMyPermissions(resource, CONNECTOR_PAGE_ACTIONS);
  const can_edit = permissions.can('edit', resource);
  const can_test = permissions.can('test', resource);
  const can_delete = permissions.can('delete', resource);
  const query = useConnector(id);
  const types = useConnectorTypes();
  const update = useUpdateConnector(id);
  const test = useTestConnector();
  const [deleting, setDeleting] = useState(false);
  const [generation, setGeneration] = useState(0);

  if (query.isPending || types.isPending || permissions.status === 'pending') {
    return (
      <div className="mx-auto grid w-full max-w-3xl gap-4" aria-busy="true">
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-96" />
      </div>
    );
  }
  if (query.isError || types.isError) {
    return (
      <div className="mx-auto grid w-full max-w-3xl gap-4">
        <BackLink to="/connectors">All connectors</BackLink>
        <ErrorBanner title="Could not load the connector">
          {describeError(query.error ?? types.error)}
        </ErrorBanner>
      </div>
    );
  }
  const { connector, version } = query.data;
  const connector_type = types.data.find((item) => item.type === connector.type);

  return (
    <div className="mx-auto grid w-full max-w-3xl gap-6">
      <BackLink to="/connectors">All connectors</BackLink>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="grid gap-1">
          <h1 className="text-2xl font-semibold tracking-tight break-all">{connector.name}</h1>
          <div className="flex flex-wrap items-center gap-2 text-sm text-muted-foreground">
            <Badge variant="accent">{connector.type}</Badge>
            <span>version {connector.version}</span>
            <ConnectorStatusBadge last_test={connector.last_test ?? null} />
          </div>
        </div>
        {(can_test || can_delete) && (
          <ConnectorHeaderActions
            can_test={can_test}
            can_delete={can_delete}
            testing={test.isPending}
            onTest={() =>
              test.mutate(connector.id, {
                onError: (error) => toast.error('Could not run the test', describeError(error)),
              })
            }
            onDelete={() => setDeleting(true)}
          />
        )}
      </div>
      {permissions.status === 'error' && (
        <ErrorBanner tone="warning" title="Could not check what you may do here">
          The connector is shown read-only. {describeError(permissions.error)}
        </ErrorBanner>
      )}
      {test.data && <TestResultView result={test.data} />}
      {connector.warnings.length > 0 && (
        <ErrorBanner tone="warning" title="Warnings">
          <ul className="list-disc pl-5">
            {connector.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </ErrorBanner>
      )}
      {connector_type === undefined ? (
        <ErrorBanner title={`Unknown connector type “${connector.type}”.`} />
      ) : (
        <ConnectorForm
          key={`${version}-${generation}`}
          connector_type={connector_type}
          initial={{ name: connector.name, config: connector.config }}
          read_only={!can_edit}
          submit_label="Save changes"
          reloading={query.isFetching}
          onReloadLatest={() => {
            void query.refetch().then(() => setGeneration((count) => count + 1));
          }}
          onSubmit={async (draft) => {
            await update.mutateAsync({ version, request: draft });
            toast.success(`Saved ${draft.name}`);
          }}
        />
      )}
      <AccessPanel
        resource={resource}
        relations={connector_access.relations}
        actions={connector_access.actions}
        can_manage={permissions.can('manage', resource)}
      />
      {can_delete && (
        <DeleteConnectorDialog
          connector={deleting ? connector : null}
          onOpenChange={setDeleting}
          onDeleted={() => void navigate('/connectors', { replace: true })}
        />
      )}
    </div>
  );
}
