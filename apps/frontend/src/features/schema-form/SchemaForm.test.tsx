import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useCallback, useEffect, useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '@/api/connectors-contract';
import { rest_spec } from '@/test/rest-spec-fixture';
import { defaultValue } from './default-value';
import { asSchema } from './json-schema';
import { SchemaForm } from './SchemaForm';

const spec = asSchema(rest_spec);
let latest: JsonObject = {};
const remember = (value: JsonObject) => {
  latest = value;
};

function Harness({ errors = new Map<string, string>() }: { errors?: ReadonlyMap<string, string> }) {
  const [value, setValue] = useState(() => defaultValue(spec, spec, true) as JsonObject);
  const [local, setLocal] = useState(new Map<string, string>());
  const reportLocal = useCallback((pointer: string, message: string | null) => {
    setLocal((previous) => {
      const next = new Map(previous);
      if (message === null) next.delete(pointer);
      else next.set(pointer, message);
      return next;
    });
  }, []);
  useEffect(() => remember(value), [value]);
  return (
    <SchemaForm
      schema={spec}
      value={value}
      onChange={setValue}
      pointer="/config"
      errors={new Map([...errors, ...local])}
      reportLocal={reportLocal}
    />
  );
}

describe('SchemaForm', () => {
  it('generates labelled fields with required markers, help text and defaults', () => {
    render(<Harness />);
    const base_url = screen.getByLabelText(/Base url/);
    expect(base_url).toHaveAttribute('aria-required', 'true');
    expect(base_url).toHaveAccessibleDescription('The API root.');
    expect(screen.getByRole('switch', { name: 'Allow insecure http' })).not.toBeChecked();
    expect(screen.getByLabelText(/Timeout seconds/)).toHaveAttribute('placeholder', 'Default: 30');
    // the required array starts with its minimum of one item, built from the $ref'd schema
    expect(screen.getByLabelText(/^Name/)).toBeInTheDocument();
    expect(screen.getByLabelText(/^Method/)).toHaveDisplayValue('Not set (default GET)');
    expect(latest).toEqual({ type: 'rest', base_url: '', streams: [{ name: '', path: '' }] });
  });

  it('switches oneOf variants by their discriminator and validates secret references', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.selectOptions(screen.getByLabelText(/Auth: kind/), 'Bearer token');
    const token = screen.getByLabelText(/^Token/);
    expect(latest.auth).toEqual({ type: 'bearer', token: '' });
    expect(token).toHaveAccessibleDescription(/vault:<mount>\/<path>#<field>/);

    await user.type(token, 'hunter2');
    await user.tab();
    expect(await screen.findByText(/not a literal value/)).toBeInTheDocument();
    expect(token).toHaveAttribute('aria-invalid', 'true');

    await user.clear(token);
    await user.type(token, 'vault:secret/crm#token');
    expect(screen.queryByText(/not a literal value/)).not.toBeInTheDocument();
    expect(latest.auth).toEqual({ type: 'bearer', token: 'vault:secret/crm#token' });

    await user.selectOptions(screen.getByLabelText(/Auth: kind/), 'API key');
    expect(screen.getByLabelText(/^In/)).toHaveDisplayValue('Not set (default header)');
    expect(latest.auth).toEqual({ type: 'api_key', name: '', value: '' });
  });

  it('adds and removes array items and map entries, and edits nested objects', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.click(screen.getByRole('button', { name: 'Add stream' }));
    expect(screen.getAllByLabelText(/^Path/)).toHaveLength(2);
    await user.type(screen.getAllByLabelText(/^Path/)[1] as HTMLElement, '/orders');
    await user.click(screen.getByRole('button', { name: 'Remove Stream 1' }));
    expect(latest.streams).toEqual([{ name: '', path: '/orders' }]);

    await user.click(screen.getByRole('button', { name: 'Add headers entry' }));
    const headers = screen.getByRole('group', { name: /Headers/ });
    await user.type(within(headers).getByLabelText('Name'), 'X-Team');
    await user.type(within(headers).getByLabelText('Value'), 'core');
    expect(latest.headers).toEqual({ 'X-Team': 'core' });

    await user.click(screen.getByRole('button', { name: 'Add retry' }));
    await user.type(screen.getByLabelText(/Max attempts/), '3');
    expect(latest.retry).toEqual({ max_attempts: 3 });
    await user.click(screen.getByRole('button', { name: 'Remove Retry' }));
    expect(latest.retry).toBeUndefined();
  });

  it('shows errors next to the field their JSON Pointer names', () => {
    render(<Harness errors={new Map([['/config/streams/0/path', 'must start with /']])} />);
    const path = screen.getByLabelText(/^Path/);
    expect(path).toHaveAttribute('aria-invalid', 'true');
    expect(path).toHaveAccessibleDescription(/must start with \//);
  });

  it('takes free-form JSON where the schema has no type', async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const body = screen.getByLabelText(/^Body/);
    await user.type(body, '{{"q": 1');
    expect(await screen.findByText('Not valid JSON yet.')).toBeInTheDocument();
    await user.type(body, '}');
    expect(screen.queryByText('Not valid JSON yet.')).not.toBeInTheDocument();
    expect(latest.streams).toEqual([{ name: '', path: '', body: { q: 1 } }]);
  });
});
