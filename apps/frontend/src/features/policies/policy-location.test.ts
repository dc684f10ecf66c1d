import { describe, expect, it } from 'vitest';
import { locationRange, parsePolicyLocation } from './policy-location';

describe('parsePolicyLocation', () => {
  it('reads "at line N, column M" and keeps the message after it', () => {
    expect(
      parsePolicyLocation(
        'policy "hours" does not compile at line 3, column 11: unexpected end of line',
      ),
    ).toEqual({ line: 3, column: 11, message: 'unexpected end of line' });
  });

  it('reads the file:line:column form', () => {
    expect(parsePolicyLocation('hours.rego:12:5: rego_parse_error: unexpected }')).toEqual({
      line: 12,
      column: 5,
      message: 'rego_parse_error: unexpected }',
    });
    expect(parsePolicyLocation('compile failed at 4:2: var x is unsafe')).toEqual({
      line: 4,
      column: 2,
      message: 'var x is unsafe',
    });
  });

  it('reads a line without a column as column 1', () => {
    expect(parsePolicyLocation('error on line 7: missing package')).toEqual({
      line: 7,
      column: 1,
      message: 'missing package',
    });
  });

  it('prefers the explicit form over a time in the message', () => {
    expect(
      parsePolicyLocation('policy "x" does not compile at line 2, column 1: 09:00 is not a number'),
    ).toEqual({ line: 2, column: 1, message: '09:00 is not a number' });
  });

  it('answers null when the detail names no place', () => {
    expect(parsePolicyLocation('the policies do not compile: conflicting rules')).toBeNull();
    expect(parsePolicyLocation('policy "x" does not compile at line 0, column 0: ?')).toBeNull();
  });
});

describe('locationRange', () => {
  const text = 'package grimos.policies.hours\n\ndeny contains msg if {\n  input.x ==\n}';

  it('marks the word at the line and column', () => {
    const range = locationRange(text, { line: 3, column: 6 });
    expect(text.slice(range.from, range.to)).toBe('contains');
  });

  it('marks one character where no word starts', () => {
    const range = locationRange(text, { line: 4, column: 11 });
    expect(text.slice(range.from, range.to)).toBe('=');
  });

  it('clamps a place past the end of the text to its last line', () => {
    const range = locationRange(text, { line: 40, column: 90 });
    expect(range.from).toBe(text.length);
    expect(range.to).toBe(text.length);
    const column_past = locationRange(text, { line: 1, column: 200 });
    expect(column_past.from).toBe('package grimos.policies.hours'.length);
  });
});
