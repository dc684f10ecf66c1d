// Where a policy fails to compile: the server's 422 `policy_invalid` problem names the place
// in its detail (`policy "hours" does not compile at line 3, column 11: unexpected token`, or
// `hours.rego:3:11: …`), and the editor marks that place.

export interface PolicyLocation {
  /** 1-based line. */
  line: number;
  /** 1-based column (1 when the detail names only the line). */
  column: number;
  /** What is wrong, without the position. */
  message: string;
}

const LINE_AND_COLUMN = /\bline\s+(\d+)\s*(?:,\s*|\s+)col(?:umn)?\s+(\d+)\s*:?\s*/i;
const LINE_ONLY = /\bline\s+(\d+)\s*:?\s*/i;
/** `name.rego:3:11:`, `hours:3:11:` or `3:11:` (a time like 09:00 has no second colon part). */
const COLON_FORM = /(?:^|[\s"'`(])(?:[\w./-]+:)?(\d+):(\d+)(?::\s*|\s+|$)/;

function positive(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) && value > 0 ? value : null;
}

function restAfter(detail: string, match: RegExpExecArray): string {
  const after = detail.slice(match.index + match[0].length).trim();
  return after === '' ? detail.trim() : after;
}

/** The line and column a compile error names in its detail, if it names one. */
export function parsePolicyLocation(detail: string): PolicyLocation | null {
  const explicit = LINE_AND_COLUMN.exec(detail);
  if (explicit !== null) {
    const line = positive(explicit[1]);
    const column = positive(explicit[2]) ?? 1;
    if (line !== null) return { line, column, message: restAfter(detail, explicit) };
  }
  const colon = COLON_FORM.exec(detail);
  if (colon !== null) {
    const line = positive(colon[1]);
    const column = positive(colon[2]) ?? 1;
    if (line !== null) return { line, column, message: restAfter(detail, colon) };
  }
  const line_only = LINE_ONLY.exec(detail);
  if (line_only !== null) {
    const line = positive(line_only[1]);
    if (line !== null) return { line, column: 1, message: restAfter(detail, line_only) };
  }
  return null;
}

/**
 * The character range to mark for a location in `text`: from the column to the end of the
 * word there (at least one character), clamped to the text; a line past the end marks the
 * last line.
 */
export function locationRange(
  text: string,
  location: Pick<PolicyLocation, 'line' | 'column'>,
): { from: number; to: number } {
  const lines = text.split('\n');
  const line_index = Math.min(Math.max(location.line, 1), lines.length) - 1;
  let line_start = 0;
  for (let index = 0; index < line_index; index += 1) {
    line_start += (lines[index] ?? '').length + 1;
  }
  const line_text = lines[line_index] ?? '';
  const column = Math.min(Math.max(location.column, 1) - 1, line_text.length);
  const from = line_start + column;
  const word = /^\w+/.exec(line_text.slice(column));
  const length = word === null ? 1 : word[0].length;
  const to = Math.min(from + length, line_start + line_text.length);
  return { from, to: Math.max(to, from) };
}
