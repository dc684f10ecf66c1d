import { X } from 'lucide-react';
import type { ReactNode } from 'react';
import { Button } from '@/components/ui/button';
import { cn } from '@/lib/utils';
import { GroupError } from './GroupError';
import { fieldId } from './json-pointer';

interface GroupFrameProps {
  pointer: string;
  label: string;
  required: boolean;
  description?: string;
  onRemove?: () => void;
  remove_label?: string;
  bare?: boolean;
  children: ReactNode;
}

/** A fieldset for a nested object, list or map: legend, help, group error, optional remove. */
export function GroupFrame({
  pointer,
  label,
  required,
  description,
  onRemove,
  remove_label,
  bare = false,
  children,
}: GroupFrameProps) {
  const id = fieldId(pointer);
  return (
    <fieldset
      id={id}
      tabIndex={-1}
      aria-describedby={description ? `${id}-help` : undefined}
      className={cn(
        'grid min-w-0 gap-4',
        !bare && 'rounded-lg border border-border/80 bg-muted/20 p-4',
      )}
    >
      <legend className="float-left w-full pr-24 text-sm font-semibold">
        {label}
        {required && (
          <span className="ml-1 text-destructive" aria-hidden="true">
            *
          </span>
        )}
      </legend>
      {onRemove && (
        <Button
          variant="ghost"
          size="sm"
          className={cn('absolute right-2', bare ? 'top-0' : 'top-2')}
          onClick={onRemove}
          aria-label={remove_label ?? `Remove ${label}`}
        >
          <X aria-hidden="true" />
          Remove
        </Button>
      )}
      {description && (
        <p id={`${id}-help`} className="-mt-3 text-xs text-muted-foreground">
          {description}
        </p>
      )}
      <GroupError pointer={pointer} />
      {children}
    </fieldset>
  );
}
