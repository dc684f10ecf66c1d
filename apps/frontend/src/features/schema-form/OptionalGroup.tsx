import { Plus } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { GroupError } from './GroupError';

interface OptionalGroupProps {
  label: string;
  description?: string;
  pointer: string;
  onAdd: () => void;
}

/** An optional nested part that is not set: one button to add it. */
export function OptionalGroup({ label, description, pointer, onAdd }: OptionalGroupProps) {
  return (
    <div className="grid gap-1 rounded-lg border border-dashed p-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="text-sm font-medium">{label}</span>
        <Button variant="outline" size="sm" onClick={onAdd}>
          <Plus aria-hidden="true" />
          {`Add ${label.toLowerCase()}`}
        </Button>
      </div>
      {description && <p className="text-xs text-muted-foreground">{description}</p>}
      <GroupError pointer={pointer} />
    </div>
  );
}
