import type { JsonValue } from '@/api/connectors-contract';

/** How a JSON value reads in a select or placeholder. */
export function jsonLabel(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
