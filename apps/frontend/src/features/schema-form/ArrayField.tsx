import { Plus, Trash2 } from 'lucide-react';
import type { JsonValue } from '@/api/connectors-contract';
import { Button } from '@/components/ui/button';
import { defaultValue } from './default-value';
import type { FieldProps } from './field-props';
import { GroupFrame } from './GroupFrame';
import { childPointer } from './json-pointer';
import { classifySchema, resolveSchema } from './resolve-schema';
import { SchemaField } from './SchemaField';

function singular(label: string): string {
  return label.endsWith('s') && label.length > 1 ? label.slice(0, -1) : label;
}

/** A list: each item's fields with a remove button, and a button to add one more. */
export function ArrayField({
  schema,
  root,
  pointer,
  label,
  required,
  value,
  onChange,
}: FieldProps) {
  const items = Array.isArray(value) ? value : [];
  const item_schema = resolveSchema(schema.items ?? {}, root);
  const item_label = item_schema.title ?? singular(label);
  const is_group = ['object', 'one_of', 'map', 'array'].includes(classifySchema(item_schema));

  const replace = (next: JsonValue[]) =>
    onChange(next.length === 0 && !required ? undefined : next);
  const update = (index: number, item: JsonValue | undefined) =>
    replace(items.map((current, position) => (position === index ? (item ?? null) : current)));
  const remove = (index: number) => replace(items.filter((_, position) => position !== index));
  const add = () => replace([...items, defaultValue(item_schema, root, true) ?? '']);

  return (
    <GroupFrame
      pointer={pointer}
      label={label}
      required={required}
      description={schema.description}
    >
      {items.length === 0 && <p className="text-sm text-muted-foreground">None yet.</p>}
      <ol className="grid gap-3">
        {items.map((item, index) => {
          const name = `${item_label} ${index + 1}`;
          return (
            <li key={index} className="flex items-start gap-2">
              <div className="min-w-0 flex-1">
                <SchemaField
                  schema={item_schema}
                  root={root}
                  pointer={childPointer(pointer, index)}
                  label={name}
                  required
                  value={item}
                  onChange={(next) => update(index, next)}
                />
              </div>
              <Button
                variant="ghost"
                size="icon"
                className={is_group ? 'mt-3' : 'mt-5'}
                onClick={() => remove(index)}
                aria-label={`Remove ${name}`}
                title={`Remove ${name}`}
              >
                <Trash2 aria-hidden="true" />
              </Button>
            </li>
          );
        })}
      </ol>
      <div>
        <Button variant="outline" size="sm" onClick={add}>
          <Plus aria-hidden="true" />
          {`Add ${item_label.toLowerCase()}`}
        </Button>
      </div>
    </GroupFrame>
  );
}
