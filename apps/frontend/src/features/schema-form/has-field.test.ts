import { describe, expect, it } from 'vitest';
import { rest_spec } from '@/test/rest-spec-fixture';
import { asSchema } from './json-schema';
import { hasField, parsePointer } from './has-field';

const spec = asSchema(rest_spec);
const config = {
  base_url: 'https://api.example.com',
  auth: { type: 'bearer', token: 'env:T' },
  headers: { 'X-Team': 'a' },
  streams: [{ name: 'users', path: '/users' }],
};

describe('hasField maps API error paths to generated fields', () => {
  it.each([
    ['/base_url', true],
    ['/auth/token', true],
    ['/auth/type', true],
    ['/auth/value', false],
    ['/headers/X-Team', true],
    ['/headers/X-Other', false],
    ['/streams/0/path', true],
    ['/streams/1/path', false],
    ['/retry/max_attempts', false],
    ['/nope', false],
  ])('%s → %s', (pointer, expected) => {
    expect(hasField(spec, spec, config, parsePointer(pointer))).toBe(expected);
  });

  it('unescapes RFC 6901 segments', () => {
    expect(parsePointer('/a~1b/c~0d')).toEqual(['a/b', 'c~d']);
  });
});
