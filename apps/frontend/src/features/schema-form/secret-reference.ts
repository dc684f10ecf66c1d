// Client-side check of a secret reference's shape, mirroring the server's parser
// (crates/secrets/src/reference.rs). The server stays the authority.

export const SECRET_REFERENCE_HELP =
  'A secret reference, never the secret itself: vault:<mount>/<path>#<field>[?version=N], env:NAME, file:/absolute/path or local:<name>.';

const VAULT_SEGMENT = /^[^#?\s]+$/;
const LOCAL_SEGMENT = /^[A-Za-z0-9_.-]+$/;

function checkSegments(path: string, what: string, allowed: RegExp): string | null {
  if (path === '') return `${what} is empty`;
  for (const segment of path.split('/')) {
    if (segment === '') return `${what} has an empty segment (leading, trailing or doubled /)`;
    if (segment === '.' || segment === '..') return `${what} may not contain . or .. segments`;
    if (!allowed.test(segment)) {
      return allowed === LOCAL_SEGMENT
        ? `${what} is /-separated names of letters, digits, _, - and .`
        : `${what} may not contain #, ? or whitespace`;
    }
  }
  return null;
}

function checkVault(rest: string): string | null {
  const shape = 'expected vault:<mount>/<path>#<field> (optionally ?version=N after the field)';
  const hash = rest.indexOf('#');
  if (hash < 0) return `a vault reference needs #<field>; ${shape}`;
  const location = rest.slice(0, hash);
  const field_and_query = rest.slice(hash + 1);
  if (location.includes('?')) return `?version=N goes after the field; ${shape}`;
  const slash = location.indexOf('/');
  if (slash < 0) return `a vault reference needs a mount and a path; ${shape}`;
  const segment_error =
    checkSegments(location.slice(0, slash), 'the vault mount', VAULT_SEGMENT) ??
    checkSegments(location.slice(slash + 1), 'the vault path', VAULT_SEGMENT);
  if (segment_error !== null) return segment_error;
  const [field = '', query] = field_and_query.split('?', 2);
  if (field === '') return `the field after # is empty; ${shape}`;
  if (/[#/\s]/.test(field)) return 'the field may not contain #, / or whitespace';
  if (query !== undefined && !/^version=[1-9][0-9]*$/.test(query)) {
    return 'the only option is ?version=N with N a positive whole number';
  }
  return null;
}

/** `null` when `value` is a well-formed reference, else what is wrong with it. */
export function validateSecretReference(value: string): string | null {
  if (value.startsWith('vault:')) return checkVault(value.slice('vault:'.length));
  if (value.startsWith('env:')) {
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(value.slice(4))
      ? null
      : 'an environment variable name is letters, digits and _, not starting with a digit';
  }
  if (value.startsWith('file:')) {
    const path = value.slice(5);
    if (!path.startsWith('/')) return 'a file reference needs an absolute path (file:/path)';
    if (path.endsWith('/')) return 'a file reference names a file, not a directory';
    if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
      return 'a file path may not contain . or .. segments';
    }
    return null;
  }
  if (value.startsWith('local:')) {
    const name = value.slice(6);
    if (name.length > 255) return 'a local secret name is at most 255 bytes';
    return checkSegments(name, 'the local secret name', LOCAL_SEGMENT);
  }
  return 'must be a secret reference (vault:, env:, file: or local:), not a literal value';
}
