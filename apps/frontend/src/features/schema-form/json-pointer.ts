/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export function escapeSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function childPointer(pointer: string, segment: string | number): string {
  return `${pointer}/${escapeSegment(String(segment))}`;
}

/** The DOM id of the control for a JSON Pointer (ids may hold any non-space character). */
export function fieldId(pointer: string): string {
  return `field${pointer.replace(/\s/g, '_')}`;
}
