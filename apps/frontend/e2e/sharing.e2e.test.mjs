// Sharing a connector end to end: the admin gives a member user the viewer relation on one
// connector from its Access panel; that user, signing in with their own token, then sees that
// connector in their list and not the other one, read-only; given editor, they may change
// it (the page asks the decision point what they may do, not their role) — against a real
// `grimos serve`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp } from './support/app-url.mjs';
import { launchBrowser, screenshot } from './support/browser.mjs';
import { ADMIN_TOKEN, startGrimos } from './support/grimos.mjs';

let grimos;
let app;
let browser;
let member_token;
let mia;
let shared;
let unshared;

/** A call to the API as `token`; answers the parsed body, throws on an error status. */
async function call(token, method, path, body) {
  const response = await fetch(`${grimos.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text === '' ? null : JSON.parse(text);
}

function connectorConfig(base_url) {
  return { type: 'rest', base_url, streams: [{ name: 'contacts', path: '/contacts' }] };
}

/** Sign in on the sign-in page, as a person would; the app returns to where one was. */
async function signIn(page, token) {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('current-user').waitFor();
}

before(async () => {
  grimos = await startGrimos();
  app = await startApp(grimos);
  browser = await launchBrowser();
  shared = await call(ADMIN_TOKEN, 'POST', '/api/v1/interop/connectors', {
    name: 'e2e-shared-crm',
    type: 'rest',
    config: connectorConfig('https://crm.example.com/api'),
  });
  unshared = await call(ADMIN_TOKEN, 'POST', '/api/v1/interop/connectors', {
    name: 'e2e-private-erp',
    type: 'rest',
    config: connectorConfig('https://erp.example.com/api'),
  });
  mia = await call(ADMIN_TOKEN, 'POST', '/api/v1/users', { name: 'mia', role: 'member' });
  const token = await call(ADMIN_TOKEN, 'POST', '/api/v1/tokens', {
    name: 'e2e mia',
    role: 'member',
    user_id: mia.id,
  });
  member_token = token.token;
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await grimos?.stop();
});

test('a member sees no connector before anything is shared', async () => {
  const list = await call(member_token, 'GET', '/api/v1/interop/connectors');
  assert.deepEqual(list.items, []);
});

test('the admin shares one connector with the member from its Access panel', async () => {
  const { page } = browser;
  await page.goto(`${app.url}/sign-in`);
  await signIn(page, ADMIN_TOKEN);
  await page.getByRole('link', { name: 'e2e-shared-crm' }).click();
  await page.getByRole('heading', { name: 'e2e-shared-crm' }).waitFor();
  const add = page.getByRole('form', { name: 'Add access' });
  await add.getByRole('option', { name: 'mia (member)' }).waitFor({ state: 'attached' });
  await add.getByLabel('User').selectOption({ label: 'mia (member)' });
  await add.getByLabel('Relation').selectOption('viewer');
  await add.getByRole('button', { name: 'Add' }).click();
  await page.getByRole('button', { name: 'Remove mia as viewer' }).waitFor();

  // "Why?": the check names the relation path that lets mia view it.
  const why = page.getByRole('form', { name: 'Why' });
  await why.getByLabel('User').selectOption({ label: 'mia (member)' });
  await why.getByLabel('Action').selectOption('view');
  await why.getByRole('button', { name: 'Check' }).click();
  await page.getByText('Allowed', { exact: true }).waitFor();
  const path = page.getByRole('list', { name: 'Relation path' });
  const chips = await path.getByRole('listitem').allInnerTexts();
  assert.deepEqual(chips, ['this connector #viewer', 'mia']);
  await page.getByRole('heading', { name: 'Access' }).scrollIntoViewIfNeeded();
  await screenshot(page, '20-access-panel-shared');

  // Mia may not edit it: no grant, said so.
  await why.getByLabel('Action').selectOption('edit');
  await why.getByRole('button', { name: 'Check' }).click();
  await page.getByText('Denied', { exact: true }).waitFor();
  await page.getByText('No role or relationship grants it').waitFor();
  await screenshot(page, '21-access-panel-why-denied');
});

test('the member signs in with their token and sees the shared connector only', async () => {
  const { page } = browser;
  await page.getByRole('button', { name: /Account:/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  await signIn(page, member_token);
  assert.match(await page.getByTestId('current-user').innerText(), /member/);
  // Signed out on the shared connector's page, mia comes back to it: she may view it.
  await page.getByRole('heading', { name: 'e2e-shared-crm' }).waitFor();
  await page.getByRole('link', { name: 'All connectors' }).click();
  const table = page.getByRole('table', { name: 'Connectors' });
  await table.getByRole('link', { name: 'e2e-shared-crm' }).waitFor();
  const names = await table.getByRole('link').allInnerTexts();
  assert.deepEqual(names, ['e2e-shared-crm']);
  await screenshot(page, '22-member-connectors');

  // The one not shared is not there for them at all (404, not 403).
  const response = await fetch(`${grimos.url}/api/v1/interop/connectors/${unshared.id}`, {
    headers: { Authorization: `Bearer ${member_token}` },
  });
  assert.equal(response.status, 404);
  const visible = await fetch(`${grimos.url}/api/v1/interop/connectors/${shared.id}`, {
    headers: { Authorization: `Bearer ${member_token}` },
  });
  assert.equal(visible.status, 200);
});

test('as a viewer the member sees the connector read-only, without buttons', async () => {
  const { page } = browser;
  const table = page.getByRole('table', { name: 'Connectors' });
  // Once the decision point has answered for her: no add button, no row actions (she may
  // not create, test, edit or delete).
  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/api/v1/authz/check/batch') && response.ok(),
  );
  await page.reload();
  await answered;
  await table.getByRole('link', { name: 'e2e-shared-crm' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Add connector/ }).count(), 0);
  assert.equal(await table.getByRole('button').count(), 0);
  await table.getByRole('link', { name: 'e2e-shared-crm' }).click();
  await page.getByRole('heading', { name: 'e2e-shared-crm' }).waitFor();
  const name = page.getByLabel(/^Name/).first();
  await name.waitFor();
  assert.equal(await name.isDisabled(), true);
  assert.equal(await page.getByLabel(/Base url/).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Test connection' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
  // Not a manager: nobody listed, nothing to add or remove.
  await page.getByText('You may not see who has access to this connector.').waitFor();
  assert.equal(await page.getByRole('form', { name: 'Add access' }).count(), 0);
  await screenshot(page, '23-member-viewer-read-only');
});

test('given editor, the member may change the connector and save it', async () => {
  const { page } = browser;
  await call(ADMIN_TOKEN, 'POST', '/api/v1/authz/relationships', {
    writes: [{ resource: `connector:${shared.id}`, relation: 'editor', subject: `user:${mia.id}` }],
    deletes: [],
  });
  await page.reload();
  await page.getByRole('heading', { name: 'e2e-shared-crm' }).waitFor();
  const base_url = page.getByLabel(/Base url/);
  await page.getByRole('button', { name: 'Save changes' }).waitFor();
  assert.equal(await base_url.isEnabled(), true);
  assert.equal(await page.getByLabel(/^Name/).first().isEnabled(), true);
  // An editor may test it, but only its owner (or an admin) may delete or share it.
  await page.getByRole('button', { name: 'Test connection' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
  assert.equal(await page.getByRole('form', { name: 'Add access' }).count(), 0);

  await base_url.fill('https://crm.example.com/v2');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved e2e-shared-crm').waitFor();
  await screenshot(page, '24-member-editor-saved');
  const stored = await call(ADMIN_TOKEN, 'GET', `/api/v1/interop/connectors/${shared.id}`);
  assert.equal(stored.config.base_url, 'https://crm.example.com/v2');

  // In the list, her row offers test and edit, not delete.
  await page.getByRole('link', { name: 'All connectors' }).click();
  await page.getByRole('button', { name: 'Test connection of e2e-shared-crm' }).waitFor();
  await page.getByRole('button', { name: 'More actions for e2e-shared-crm' }).click();
  await page.getByRole('menuitem', { name: 'Edit' }).waitFor();
  assert.equal(await page.getByRole('menuitem', { name: 'Delete' }).count(), 0);
  await page.keyboard.press('Escape');
});
