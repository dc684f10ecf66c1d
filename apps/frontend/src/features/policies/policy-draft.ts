import { ApiError } from '@/api/api-error';
import { parsePolicyLocation, type PolicyLocation } from './policy-location';

/** A policy name: a lowercase letter, then up to 62 lowercase letters, digits or underscores. */
export const POLICY_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** The text a new policy starts from: a deny rule and a test of it, in its package. */
export function policyTemplate(name: string): string {
  const package_name = name === '' ? 'my_policy' : name;
  return `package grimos.policies.${package_name}

# Every message in \`deny\` refuses the request, whatever role or relationship allows it.
deny contains msg if {
\tinput.action == "delete"
\tinput.resource.type == "flow"
\tnot "admin" in input.subject.roles
\tmsg := "only admins delete flows"
}

test_members_may_not_delete_flows if {
\tcount(deny) == 1 with input as {"action": "delete", "resource": {"type": "flow"}, "subject": {"roles": ["member"]}}
}
`;
}

function positiveNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * The place in `policy_name`'s source a 422 `policy_invalid` answer names: its `line` and
 * `column` members, else the `line:column` its detail names. Null for any other error, for
 * failing tests (no place), and when the answer blames another stored policy.
 */
export function compileProblem(error: unknown, policy_name?: string): PolicyLocation | null {
  if (!(error instanceof ApiError) || error.status !== 422) return null;
  if (error.code !== 'policy_invalid') return null;
  const { policy, line, column } = error.extensions;
  if (
    policy_name !== undefined &&
    policy_name !== '' &&
    typeof policy === 'string' &&
    policy !== '' &&
    policy !== policy_name
  )
    return null;
  const parsed = parsePolicyLocation(error.detail);
  const at_line = positiveNumber(line);
  if (at_line !== null) {
    return {
      line: at_line,
      column: positiveNumber(column) ?? 1,
      message: parsed?.message ?? error.detail,
    };
  }
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The inputs typed into the dry-run box: one JSON object, or an array of them.
 * Throws a readable error when the text is not that.
 */
export function parseDryRunInputs(text: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`The inputs are not JSON: ${error instanceof Error ? error.message : ''}`, {
      cause: error,
    });
  }
  const inputs: unknown[] = Array.isArray(value) ? value : [value];
  if (inputs.length === 0) throw new Error('Give at least one input.');
  if (!inputs.every(isObject))
    throw new Error('Each input is a JSON object: {"subject": …, "action": …, "resource": …}.');
  return inputs;
}
