import { Label } from '@/components/ui/label';
import { Switch } from '@/components/ui/switch';
import { useFieldError } from './form-errors-context';
import type { FieldProps } from './field-props';
import { fieldId } from './json-pointer';

export function BooleanField({ schema, pointer, label, value, onChange }: FieldProps) {
  const id = fieldId(pointer);
  const error = useFieldError(pointer);
  const checked = typeof value === 'boolean' ? value : schema.default === true;
  return (
    <div className="grid gap-1.5">
      <div className="flex items-center gap-3">
        <Switch
          id={id}
          checked={checked}
          onCheckedChange={(next) => onChange(next)}
          aria-describedby={schema.description ? `${id}-help` : undefined}
          aria-invalid={error ? true : undefined}
        />
        <Label htmlFor={id}>{label}</Label>
      </div>
      {schema.description && (
        <p id={`${id}-help`} className="text-xs text-muted-foreground">
          {schema.description}
        </p>
      )}
      {error && <p className="text-xs font-medium text-destructive">{error}</p>}
    </div>
  );
}
