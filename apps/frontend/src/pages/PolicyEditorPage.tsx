import { FlaskConical, Trash2 } from 'lucide-react';
import { useState, type SyntheticEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { ApiError } from '@/api/api-error';
import type { Policy } from '@/api/authz-contract';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { BackLink } from '@/components/layout/BackLink';
import { AlertDialog } from '@/components/ui/alert-dialog';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Skeleton } from '@/components/ui/skeleton';
import { toast } from '@/components/ui/toast-store';
import { describeError } from '@/features/connectors/describe-error';
import { DryRunPanel } from '@/features/policies/DryRunPanel';
import { LazyCodeEditor } from '@/features/policies/LazyCodeEditor';
import { compileProblem, POLICY_NAME, policyTemplate } from '@/features/policies/policy-draft';
import type { PolicyLocation } from '@/features/policies/policy-location';
import { PolicyTestResults } from '@/features/policies/PolicyTestResults';
import {
  useCreatePolicy,
  useDeletePolicy,
  useDryRun,
  usePolicy,
  useTestPolicy,
  useUpdatePolicy,
} from '@/features/policies/usePolicies';

const NO_PROBLEMS: readonly PolicyLocation[] = [];

interface PolicyFormProps {
  /** The stored policy and its version; null for a new one. */
  stored: { policy: Policy; version: string } | null;
  onReloadLatest?: () => void;
}

function PolicyForm({ stored, onReloadLatest }: PolicyFormProps) {
  const navigate = useNavigate();
  const create = useCreatePolicy();
  const update = useUpdatePolicy(stored?.policy.id ?? '');
  const run_tests = useTestPolicy();
  const deletion = useDeletePolicy();
  const dry_run = useDryRun();
  const [name, setName] = useState(stored?.policy.name ?? '');
  const [source, setSource] = useState(stored?.policy.source ?? policyTemplate(''));
  const [name_error, setNameError] = useState<string | null>(null);
  const [save_error, setSaveError] = useState<unknown>(null);
  const [problems, setProblems] = useState<readonly PolicyLocation[]>(NO_PROBLEMS);
  const [deleting, setDeleting] = useState(false);
  const saving = create.isPending || update.isPending;
  const dirty = stored === null || source !== stored.policy.source;
  const stale = save_error instanceof ApiError && save_error.isStaleVersion();

  const changeName = (next: string) => {
    // The template's package follows the name until the text is edited.
    if (source === policyTemplate(name)) setSource(policyTemplate(next));
    setName(next);
  };

  /** A compile error marks its line in the editor; any error is also shown above it. */
  const showError = (error: unknown) => {
    setSaveError(error);
    const location = compileProblem(error, stored?.policy.name ?? name);
    setProblems(location === null ? NO_PROBLEMS : [location]);
  };

  const save = async (event: SyntheticEvent) => {
    event.preventDefault();
    if (stored === null && !POLICY_NAME.test(name)) {
      setNameError(
        'A name is a lowercase letter, then up to 62 lowercase letters, digits or underscores.',
      );
      return;
    }
    setNameError(null);
    setSaveError(null);
    try {
      if (stored === null) {
        const saved = await create.mutateAsync({ name, source });
        setProblems(NO_PROBLEMS);
        toast.success(`Created ${saved.policy.name}`);
        void navigate(`/policies/${saved.policy.id}`, { replace: true });
      } else {
        await update.mutateAsync({ version: stored.version, source });
        setProblems(NO_PROBLEMS);
        toast.success(`Saved ${stored.policy.name}`);
      }
    } catch (error) {
      showError(error);
    }
  };

  const location =
    save_error === null ? null : compileProblem(save_error, stored?.policy.name ?? name);
  const details =
    save_error instanceof ApiError && location === null ? save_error.field_errors : [];

  return (
    <div className="grid gap-6">
      <form className="grid gap-4" aria-label="Policy" onSubmit={(event) => void save(event)}>
        {stored === null && (
          <div className="grid gap-1.5">
            <Label htmlFor="policy-name">Name</Label>
            <Input
              id="policy-name"
              className="font-mono"
              value={name}
              placeholder="e.g. business_hours"
              aria-invalid={name_error !== null}
              aria-describedby={name_error === null ? 'policy-name-hint' : 'policy-name-error'}
              onChange={(event) => changeName(event.target.value)}
            />
            {name_error === null ? (
              <p id="policy-name-hint" className="text-xs text-muted-foreground">
                Its package is <code className="font-mono">grimos.policies.{name || '<name>'}</code>
                .
              </p>
            ) : (
              <p id="policy-name-error" className="text-sm text-destructive">
                {name_error}
              </p>
            )}
          </div>
        )}
        {save_error !== null && (
          <ErrorBanner
            title={
              location !== null
                ? `The policy does not compile: line ${location.line}, column ${location.column}`
                : stale
                  ? 'Someone else changed this policy'
                  : 'Could not save the policy'
            }
            action={
              stale && onReloadLatest ? (
                <Button variant="outline" size="sm" onClick={onReloadLatest}>
                  Load the latest (drops your edits)
                </Button>
              ) : undefined
            }
          >
            {location !== null ? location.message : describeError(save_error)}
            {details.length > 0 && (
              <ul className="mt-1 list-disc pl-5">
                {details.map((detail) => (
                  <li key={`${detail.path}-${detail.message}`}>{detail.message}</li>
                ))}
              </ul>
            )}
          </ErrorBanner>
        )}
        <div className="grid gap-1.5">
          <span className="text-sm font-medium" id="policy-source-label">
            Source (Rego v1)
          </span>
          <LazyCodeEditor
            label="Policy source"
            value={source}
            onChange={setSource}
            problems={problems}
          />
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Button type="submit" disabled={saving || !dirty}>
            {saving ? 'Saving…' : stored === null ? 'Create policy' : 'Save changes'}
          </Button>
          {stored !== null && (
            <>
              <Button
                variant="outline"
                disabled={run_tests.isPending}
                onClick={() => run_tests.mutate(stored.policy.id)}
              >
                <FlaskConical aria-hidden="true" />
                {run_tests.isPending ? 'Running tests…' : 'Run tests'}
              </Button>
              <Button variant="ghost" className="ml-auto" onClick={() => setDeleting(true)}>
                <Trash2 aria-hidden="true" />
                Delete
              </Button>
            </>
          )}
        </div>
      </form>

      {stored !== null && (run_tests.data || run_tests.isError) && (
        <Card>
          <CardHeader>
            <CardTitle>Tests</CardTitle>
            <CardDescription>
              The <code className="font-mono">test_*</code> rules of the saved version
              {dirty ? ' (your unsaved edits are not tested)' : ''}.
            </CardDescription>
          </CardHeader>
          <CardContent>
            {run_tests.isError && (
              <ErrorBanner title="Could not run the tests">
                {describeError(run_tests.error)}
              </ErrorBanner>
            )}
            {run_tests.data && <PolicyTestResults outcomes={run_tests.data.tests} />}
          </CardContent>
        </Card>
      )}

      <Card>
        <CardHeader>
          <CardTitle>Dry run</CardTitle>
          <CardDescription>
            Evaluate the text in the editor, saved or not, against request inputs.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <DryRunPanel
            onRun={async (inputs) => {
              try {
                const answer = await dry_run.mutateAsync({
                  name: stored?.policy.name ?? (name || undefined),
                  source,
                  inputs,
                });
                setProblems(NO_PROBLEMS);
                return answer;
              } catch (error) {
                const where = compileProblem(error, stored?.policy.name ?? name);
                if (where !== null) setProblems([where]);
                throw error;
              }
            }}
          />
        </CardContent>
      </Card>

      {stored !== null && (
        <AlertDialog
          open={deleting}
          onOpenChange={setDeleting}
          title={`Delete ${stored.policy.name}?`}
          description="Its rules stop denying at once. This cannot be undone."
          confirm_label={deletion.isPending ? 'Deleting…' : 'Delete policy'}
          busy={deletion.isPending}
          onConfirm={() =>
            deletion.mutate(
              { id: stored.policy.id, version: stored.version },
              {
                onSuccess: () => {
                  toast.success(`Deleted ${stored.policy.name}`);
                  setDeleting(false);
                  void navigate('/policies', { replace: true });
                },
                onError: (error) =>
                  toast.error('Could not delete the policy', describeError(error)),
              },
            )
          }
        />
      )}
    </div>
  );
}

export function PolicyEditorPage() {
  const { id } = useParams();
  const policy_id = id === undefined || id === 'new' ? null : id;
  const query = usePolicy(policy_id);
  const [generation, setGeneration] = useState(0);

  if (policy_id === null) {
    return (
      <div className="mx-auto grid w-full max-w-4xl gap-6">
        <BackLink to="/policies">All policies</BackLink>
        <h1 className="text-2xl font-semibold tracking-tight">New policy</h1>
        <PolicyForm stored={null} />
      </div>
    );
  }
  if (query.isPending) {
    return (
      <div className="mx-auto grid w-full max-w-4xl gap-4" aria-busy="true">
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-96" />
      </div>
    );
  }
  if (query.isError) {
    return (
      <div className="mx-auto grid w-full max-w-4xl gap-4">
        <BackLink to="/policies">All policies</BackLink>
        <ErrorBanner title="Could not load the policy">{describeError(query.error)}</ErrorBanner>
      </div>
    );
  }
  const { policy, version } = query.data;
  return (
    <div className="mx-auto grid w-full max-w-4xl gap-6">
      <BackLink to="/policies">All policies</BackLink>
      <div className="grid gap-1">
        <h1 className="font-mono text-2xl font-semibold tracking-tight break-all">{policy.name}</h1>
        <div className="flex items-center gap-2 text-sm text-muted-foreground">
          <Badge variant="secondary">v{policy.version}</Badge>
          <span className="font-mono">grimos.policies.{policy.name}</span>
        </div>
      </div>
      <PolicyForm
        key={`${version}-${generation}`}
        stored={query.data}
        onReloadLatest={() => {
          void query.refetch().then(() => setGeneration((count) => count + 1));
        }}
      />
    </div>
  );
}
