import { useCallback, useMemo, useState } from 'react';
import type { FieldError } from '@/api/types';

/** Errors of a form: from the server (`errors[]` of a problem) and from its own checks. */
export function useFormErrorState() {
  const [field_errors, setFieldErrors] = useState<FieldError[]>([]);
  const [local_errors, setLocalErrors] = useState<ReadonlyMap<string, string>>(new Map());

  const reportLocal = useCallback((pointer: string, message: string | null) => {
    setLocalErrors((previous) => {
      if ((previous.get(pointer) ?? null) === message) return previous;
      const next = new Map(previous);
      if (message === null) next.delete(pointer);
      else next.set(pointer, message);
      return next;
    });
  }, []);

  const errors = useMemo(() => {
    const merged = new Map<string, string>();
    for (const error of field_errors)
      if (!merged.has(error.path)) merged.set(error.path, error.message);
    for (const [pointer, message] of local_errors) merged.set(pointer, message);
    return merged;
  }, [field_errors, local_errors]);

  return { errors, field_errors, setFieldErrors, local_errors, reportLocal };
}
