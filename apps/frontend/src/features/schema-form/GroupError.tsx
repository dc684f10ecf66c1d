import { useFieldError } from './form-errors-context';
import { fieldId } from './json-pointer';

/** The error of a whole group (object, list, map), e.g. "Add at least 1." */
export function GroupError({ pointer }: { pointer: string }) {
  const error = useFieldError(pointer);
  if (!error) return null;
  return (
    <p id={`${fieldId(pointer)}-error`} className="text-xs font-medium text-destructive">
      {error}
    </p>
  );
}
