import { useEffect, useState } from 'react';
import { Textarea } from '@/components/ui/textarea';
import type { JsonValue } from '@/api/connectors-contract';
import type { FieldProps } from './field-props';
import { FieldShell } from './FieldShell';
import { useFormErrors } from './form-errors-context';

function toText(value: JsonValue | undefined): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** Free-form JSON for parts of a schema without a fixed shape (e.g. a body template). */
export function JsonField({ schema, pointer, label, required, value, onChange }: FieldProps) {
  const { reportLocal } = useFormErrors();
  const [text, setText] = useState(() => toText(value));

  useEffect(() => () => reportLocal(pointer, null), [pointer, reportLocal]);

  return (
    <FieldShell
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
      help={<p>Any JSON value, e.g. {'{"query": "{cursor}"}'}.</p>}
    >
      {(control) => (
        <Textarea
          {...control}
          rows={3}
          spellCheck={false}
          value={text}
          onChange={(event) => {
            const next = event.target.value;
            setText(next);
            if (next.trim() === '') {
              reportLocal(pointer, null);
              onChange(undefined);
              return;
            }
            try {
              onChange(JSON.parse(next) as JsonValue);
              reportLocal(pointer, null);
            } catch {
              reportLocal(pointer, 'Not valid JSON yet.');
            }
          }}
        />
      )}
    </FieldShell>
  );
}
