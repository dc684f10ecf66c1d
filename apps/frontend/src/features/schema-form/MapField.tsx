import { Plus, Trash2 } from 'lucide-react';
import { useState } from 'react';
import type { JsonObject, JsonValue } from '@/api/connectors-contract';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import type { FieldProps } from './field-props';
import { GroupFrame } from './GroupFrame';
import { childPointer, fieldId } from './json-pointer';
import { useFieldError } from './form-errors-context';
import { isJsonObject } from './resolve-schema';

interface Row {
  row_id: number;
  key: string;
  value: string;
}

let next_row_id = 1;

function rowsOf(value: JsonValue | undefined): Row[] {
  if (!isJsonObject(value)) return [];
  return Object.entries(value).map(([key, entry]) => ({
    row_id: next_row_id++,
    key,
    value: typeof entry === 'string' ? entry : JSON.stringify(entry),
  }));
}

function objectOf(rows: Row[]): JsonObject {
  const result: JsonObject = {};
  for (const row of rows) if (row.key !== '') result[row.key] = row.value;
  return result;
}

function MapRow({
  row,
  pointer,
  label,
  onChange,
  onRemove,
}: {
  row: Row;
  pointer: string;
  label: string;
  onChange: (row: Row) => void;
  onRemove: () => void;
}) {
  const value_pointer = childPointer(pointer, row.key);
  const key_id = `${fieldId(pointer)}-key-${row.row_id}`;
  const value_id =
    row.key === '' ? `${fieldId(pointer)}-value-${row.row_id}` : fieldId(value_pointer);
  const error = useFieldError(value_pointer);
  return (
    <li className="grid grid-cols-[1fr_1fr_auto] items-end gap-2">
      <div className="grid gap-1">
        <Label htmlFor={key_id} className="text-xs text-muted-foreground">
          Name
        </Label>
        <Input
          id={key_id}
          value={row.key}
          autoComplete="off"
          spellCheck={false}
          onChange={(event) => onChange({ ...row, key: event.target.value })}
        />
      </div>
      <div className="grid gap-1">
        <Label htmlFor={value_id} className="text-xs text-muted-foreground">
          Value
        </Label>
        <Input
          id={value_id}
          value={row.value}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          onChange={(event) => onChange({ ...row, value: event.target.value })}
        />
      </div>
      <Button
        variant="ghost"
        size="icon"
        onClick={onRemove}
        aria-label={`Remove ${label} ${row.key || 'entry'}`}
      >
        <Trash2 aria-hidden="true" />
      </Button>
      {error && <p className="col-span-3 text-xs font-medium text-destructive">{error}</p>}
    </li>
  );
}

/** A map (`additionalProperties`): name/value rows that can be added and removed. */
export function MapField({ schema, pointer, label, required, value, onChange }: FieldProps) {
  const [rows, setRows] = useState<Row[]>(() => rowsOf(value));

  const commit = (next: Row[]) => {
    setRows(next);
    const object = objectOf(next);
    onChange(Object.keys(object).length === 0 && !required ? undefined : object);
  };

  return (
    <GroupFrame
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
    >
      {rows.length > 0 && (
        <ul className="grid gap-2">
          {rows.map((row) => (
            <MapRow
              key={row.row_id}
              row={row}
              pointer={pointer}
              label={label}
              onChange={(changed) =>
                commit(rows.map((current) => (current.row_id === row.row_id ? changed : current)))
              }
              onRemove={() => commit(rows.filter((current) => current.row_id !== row.row_id))}
            />
          ))}
        </ul>
      )}
      <div>
        <Button
          variant="outline"
          size="sm"
          onClick={() => commit([...rows, { row_id: next_row_id++, key: '', value: '' }])}
        >
          <Plus aria-hidden="true" />
          {`Add ${label.toLowerCase()} entry`}
        </Button>
      </div>
    </GroupFrame>
  );
}
