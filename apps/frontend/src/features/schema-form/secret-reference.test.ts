import { describe, expect, it } from 'vitest';
import { validateSecretReference } from './secret-reference';

describe('validateSecretReference', () => {
  it.each([
    'vault:secret/app/db#password',
    'vault:kv/crm#token?version=3',
    'env:CRM_TOKEN',
    'env:_X1',
    'file:/run/secrets/token',
    'local:crm/token',
    'local:a.b-c_d',
  ])('accepts %s', (reference) => {
    expect(validateSecretReference(reference)).toBeNull();
  });

  it.each([
    ['hunter2', /not a literal value/],
    ['vault:secret/app', /needs #<field>/],
    ['vault:secret#field', /mount and a path/],
    ['vault:secret/app?version=2#f', /goes after the field/],
    ['vault:secret/app#', /field after # is empty/],
    ['vault:secret/app#f?version=0', /positive whole number/],
    ['vault:secret//app#f', /empty segment/],
    ['env:1ABC', /environment variable/],
    ['file:relative/path', /absolute path/],
    ['file:/etc/../shadow', /\. or \.\./],
    ['local:has space', /letters, digits/],
  ])('rejects %s', (reference, message) => {
    expect(validateSecretReference(reference)).toMatch(message);
  });
});
