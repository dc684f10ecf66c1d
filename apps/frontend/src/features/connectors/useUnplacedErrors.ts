import { useEffect } from 'react';
import type { JsonObject } from '@/api/connectors-contract';
import type { FieldError } from '@/api/types';
import { hasField, parsePointer } from '@/features/schema-form/has-field';
import type { JsonSchema } from '@/features/schema-form/json-schema';
import { fieldId } from '@/features/schema-form/json-pointer';

const CONFIG = '/config';

/** Whether a request-body path (`/name`, `/config/...`) has a field in the connector form. */
export function isPlaced(error: FieldError, spec: JsonSchema, config: JsonObject): boolean {
  if (error.path === '/name') return true;
  if (!error.path.startsWith(`${CONFIG}/`)) return false;
  return hasField(spec, spec, config, parsePointer(error.path.slice(CONFIG.length)));
}

/**
 * Splits field errors into those shown next to their field and the rest (for the banner),
 * and moves focus to the first placed one whenever `focus_request` changes.
 */
export function useUnplacedErrors(
  errors: FieldError[],
  spec: JsonSchema,
  config: JsonObject,
  focus_request: number,
): FieldError[] {
  const placed = errors.filter((error) => isPlaced(error, spec, config));
  const first_path = placed[0]?.path;
  useEffect(() => {
    if (focus_request === 0 || first_path === undefined) return;
    document.getElementById(fieldId(first_path))?.focus();
    // Focus only when a submit asks for it, not on every edit.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [focus_request]);
  return errors.filter((error) => !placed.includes(error));
}
