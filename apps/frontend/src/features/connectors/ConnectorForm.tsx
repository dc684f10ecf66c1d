import { Loader2, Save } from 'lucide-react';
import { useState, type SyntheticEvent } from 'react';
import { ApiError } from '@/api/api-error';
import type { ConnectorType, JsonObject } from '@/api/connectors-contract';
import type { FieldError } from '@/api/types';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { asSchema } from '@/features/schema-form/json-schema';
import { SchemaForm } from '@/features/schema-form/SchemaForm';
import { validateValue } from '@/features/schema-form/validate-value';
import { FieldShell } from '@/features/schema-form/FieldShell';
import { FormErrorsContext } from '@/features/schema-form/form-errors-context';
import { describeError } from './describe-error';
import { StaleVersionBanner } from './StaleVersionBanner';
import { useFormErrorState } from './useFormErrorState';
import { useUnplacedErrors } from './useUnplacedErrors';

export interface ConnectorDraft {
  name: string;
  config: JsonObject;
}

interface ConnectorFormProps {
  connector_type: ConnectorType;
  initial: ConnectorDraft;
  read_only: boolean;
  submit_label: string;
  /** Saves the draft; throws `ApiError` on a problem answer. */
  onSubmit: (draft: ConnectorDraft) => Promise<void>;
  /** Offered after a 412: load the latest version (discarding this form's edits). */
  onReloadLatest?: () => void;
  reloading?: boolean;
}

function clientErrors(draft: ConnectorDraft, connector_type: ConnectorType): FieldError[] {
  const spec = asSchema(connector_type.spec);
  const errors = validateValue(spec, spec, draft.config, '/config', true);
  if (draft.name.trim() === '')
    errors.unshift({ path: '/name', message: 'Give the connector a name.' });
  return errors;
}

/** The connector editor: a name and the configuration form generated from the type's spec. */
export function ConnectorForm({
  connector_type,
  initial,
  read_only,
  submit_label,
  onSubmit,
  onReloadLatest,
  reloading = false,
}: ConnectorFormProps) {
  const [draft, setDraft] = useState(initial);
  const [banner, setBanner] = useState<string | null>(null);
  const [stale, setStale] = useState(false);
  const [saving, setSaving] = useState(false);
  const [focus_request, setFocusRequest] = useState(0);
  const { errors, field_errors, setFieldErrors, local_errors, reportLocal } = useFormErrorState();
  const spec = asSchema(connector_type.spec);
  const unplaced = useUnplacedErrors(field_errors, spec, draft.config, focus_request);

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBanner(null);
    const found = clientErrors(draft, connector_type);
    if (found.length > 0 || local_errors.size > 0) {
      setFieldErrors(found);
      setBanner('Some fields need attention.');
      setFocusRequest((count) => count + 1);
      return;
    }
    setSaving(true);
    try {
      await onSubmit({ ...draft, name: draft.name.trim() });
      setFieldErrors([]);
      setStale(false);
    } catch (error) {
      if (error instanceof ApiError && error.isStaleVersion()) {
        setStale(true);
      } else if (error instanceof ApiError && error.code === 'name_taken') {
        setFieldErrors([{ path: '/name', message: error.detail }]);
        setFocusRequest((count) => count + 1);
      } else if (error instanceof ApiError && error.field_errors.length > 0) {
        setFieldErrors(error.field_errors);
        setBanner(error.detail);
        setFocusRequest((count) => count + 1);
      } else {
        setBanner(describeError(error));
      }
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      noValidate
      onSubmit={(event) => void submit(event)}
      className="grid gap-6"
      aria-label={`${connector_type.title} connector`}
    >
      {stale && onReloadLatest && (
        <StaleVersionBanner onReload={onReloadLatest} reloading={reloading} />
      )}
      {(banner !== null || unplaced.length > 0) && (
        <ErrorBanner title={banner ?? 'Some fields need attention.'}>
          {unplaced.length > 0 && (
            <ul className="list-disc pl-5">
              {unplaced.map((error) => (
                <li key={error.path + error.message}>
                  <code className="font-mono text-xs">{error.path}</code>: {error.message}
                </li>
              ))}
            </ul>
          )}
        </ErrorBanner>
      )}
      <fieldset disabled={read_only || saving} className="grid min-w-0 gap-6">
        <FormErrorsContext.Provider value={{ errors, reportLocal, disabled: read_only }}>
          <FieldShell
            pointer="/name"
            label="Name"
            required
            description="Unique; shown in lists and flows."
          >
            {(control) => (
              <Input
                {...control}
                autoComplete="off"
                value={draft.name}
                onChange={(event) => setDraft({ ...draft, name: event.target.value })}
              />
            )}
          </FieldShell>
        </FormErrorsContext.Provider>
        <SchemaForm
          schema={spec}
          value={draft.config}
          onChange={(config) => setDraft((current) => ({ ...current, config }))}
          pointer="/config"
          errors={errors}
          reportLocal={reportLocal}
          disabled={read_only}
        />
      </fieldset>
      {!read_only && (
        <div className="sticky bottom-0 -mx-1 flex justify-end gap-2 border-t bg-background/90 px-1 py-3 backdrop-blur">
          <Button type="submit" disabled={saving}>
            {saving ? (
              <Loader2 className="animate-spin" aria-hidden="true" />
            ) : (
              <Save aria-hidden="true" />
            )}
            {submit_label}
          </Button>
        </div>
      )}
    </form>
  );
}
