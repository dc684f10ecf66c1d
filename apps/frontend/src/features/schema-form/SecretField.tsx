import { KeyRound } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Input } from '@/components/ui/input';
import type { FieldProps } from './field-props';
import { FieldShell } from './FieldShell';
import { useFormErrors } from './form-errors-context';
import { SECRET_REFERENCE_HELP, validateSecretReference } from './secret-reference';

function SecretHelp() {
  return (
    <p className="mt-1">
      {SECRET_REFERENCE_HELP} Examples: <code className="font-mono">vault:secret/crm#token</code>,{' '}
      <code className="font-mono">env:CRM_TOKEN</code>,{' '}
      <code className="font-mono">local:crm/token</code>.
    </p>
  );
}

/** A field that holds a secret REFERENCE; its shape is checked as soon as the user leaves it. */
export function SecretField({ schema, pointer, label, required, value, onChange }: FieldProps) {
  const { reportLocal } = useFormErrors();
  const [touched, setTouched] = useState(false);
  const text = typeof value === 'string' ? value : '';

  useEffect(() => {
    if (!touched) return;
    reportLocal(pointer, text === '' ? null : validateSecretReference(text));
  }, [touched, text, pointer, reportLocal]);

  useEffect(() => () => reportLocal(pointer, null), [pointer, reportLocal]);

  return (
    <FieldShell
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description === SECRET_REFERENCE_HELP ? undefined : schema.description}
      help={<SecretHelp />}
    >
      {(control) => (
        <div className="relative">
          <KeyRound
            aria-hidden="true"
            className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-accent"
          />
          <Input
            {...control}
            className="pl-8 font-mono"
            autoComplete="off"
            spellCheck={false}
            placeholder="vault:secret/app#token"
            value={text}
            onBlur={() => setTouched(true)}
            onChange={(event) =>
              onChange(event.target.value === '' ? undefined : event.target.value)
            }
          />
        </div>
      )}
    </FieldShell>
  );
}
