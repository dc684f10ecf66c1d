import type { ReactNode } from 'react';
import { Label } from '@/components/ui/label';
import { cn } from '@/lib/utils';
import { fieldId } from './json-pointer';
import { useFieldError } from './form-errors-context';

export interface ControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
  'aria-required'?: boolean;
}

interface FieldShellProps {
  pointer: string;
  label: string;
  required: boolean;
  description?: string;
  help?: ReactNode;
  className?: string;
  children: (control: ControlProps) => ReactNode;
}

/** A labelled control with its help text and its error, wired up for assistive technology. */
export function FieldShell({
  pointer,
  label,
  required,
  description,
  help,
  className,
  children,
}: FieldShellProps) {
  const id = fieldId(pointer);
  const error = useFieldError(pointer);
  const help_id = `${id}-help`;
  const error_id = `${id}-error`;
  const described_by = [description || help ? help_id : null, error ? error_id : null]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={cn('grid gap-1.5', className)}>
      <Label htmlFor={id}>
        {label}
        {required && (
          <span className="text-destructive" aria-hidden="true">
            *
          </span>
        )}
        {required && <span className="sr-only">(required)</span>}
      </Label>
      {children({
        id,
        'aria-describedby': described_by || undefined,
        'aria-invalid': error ? true : undefined,
        'aria-required': required || undefined,
      })}
      {(description || help) && (
        <div id={help_id} className="text-xs text-muted-foreground">
          {description && <p>{description}</p>}
          {help}
        </div>
      )}
      {error && (
        <p id={error_id} className="text-xs font-medium text-destructive">
          {error}
        </p>
      )}
    </div>
  );
}
