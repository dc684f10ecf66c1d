import { useNavigate, useParams } from 'react-router';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { BackLink } from '@/components/layout/BackLink';
import { Skeleton } from '@/components/ui/skeleton';
import { PLATFORM, useMyPermissions } from '@/features/access/useMyPermissions';
import { toast } from '@/components/ui/toast-store';
import { defaultValue } from '@/features/schema-form/default-value';
import { asSchema } from '@/features/schema-form/json-schema';
import { ConnectorForm } from '@/features/connectors/ConnectorForm';
import { describeError } from '@/features/connectors/describe-error';
import { useCreateConnector } from '@/features/connectors/useConnectorMutations';
import { useConnectorTypes } from '@/features/connectors/useConnectorTypes';
import type { JsonObject, JsonValue } from '@/api/connectors-contract';

function asObject(value: JsonValue | undefined): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

export function NewConnectorPage() {
  const { type = '' } = useParams();
  const navigate = useNavigate();
  const permissions = useMyPermissions(PLATFORM, ['create_connector']);
  const types = useConnectorTypes();
  const create = useCreateConnector();
  const connector_type = types.data?.find((item) => item.type === type);

  let body;
  if (permissions.status === 'pending' || types.isPending) {
    body = <Skeleton className="h-64" />;
  } else if (permissions.status === 'error') {
    body = (
      <ErrorBanner title="Could not check whether you may add connectors">
        {describeError(permissions.error)}
      </ErrorBanner>
    );
  } else if (!permissions.can('create_connector', PLATFORM)) {
    body = <ErrorBanner title="You may not add connectors." />;
  } else if (types.isError) {
    body = (
      <ErrorBanner title="Could not load the connector types">
        {describeError(types.error)}
      </ErrorBanner>
    );
  } else if (connector_type === undefined) {
    body = <ErrorBanner title={`There is no connector type “${type}”.`} />;
  } else {
    const spec = asSchema(connector_type.spec);
    body = (
      <ConnectorForm
        connector_type={connector_type}
        initial={{ name: '', config: asObject(defaultValue(spec, spec, true)) }}
        read_only={false}
        submit_label="Create connector"
        onSubmit={async (draft) => {
          const created = await create.mutateAsync({ ...draft, type: connector_type.type });
          toast.success(`Created ${created.connector.name}`);
          await navigate(`/connectors/${created.connector.id}`, { replace: true });
        }}
      />
    );
  }

  return (
    <div className="mx-auto grid w-full max-w-3xl gap-6">
      <BackLink to="/connectors">All connectors</BackLink>
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">
          New {connector_type?.title ?? 'connector'}
        </h1>
        {connector_type && (
          <p className="text-sm text-muted-foreground">{connector_type.description}</p>
        )}
      </div>
      {body}
    </div>
  );
}
