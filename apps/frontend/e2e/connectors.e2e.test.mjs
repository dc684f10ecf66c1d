// The connector flow end to end: add a REST connector pointing at a local HTTP server,
// test it (passing, then failing), edit it, delete it — against a real `grimos serve`.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startApp } from './support/app-url.mjs';
import { launchBrowser, screenshot } from './support/browser.mjs';
import { ADMIN_TOKEN, startGrimos } from './support/grimos.mjs';

let grimos;
let app;
let browser;
let upstream;
let upstream_url;

function startUpstream() {
  const server = http.createServer((request, response) => {
    if (request.url?.startsWith('/contacts')) {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify([{ id: 1, name: 'Ada' }]));
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  upstream = await startUpstream();
  upstream_url = `http://127.0.0.1:${upstream.address().port}`;
  grimos = await startGrimos();
  app = await startApp(grimos);
  browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`${app.url}/sign-in`);
  await page.getByLabel('API token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Connectors' }).waitFor();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await grimos?.stop();
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve()));
});

test('add a REST connector', async () => {
  const { page } = browser;
  await page.getByText('No connectors yet').waitFor();
  await screenshot(page, '10-connectors-empty');
  await page.getByRole('button', { name: 'Add connector' }).first().click();
  await page.getByRole('dialog', { name: 'Add connector' }).waitFor();
  await screenshot(page, '11-add-connector-type');
  await page.getByRole('link', { name: /REST API/ }).click();
  await page.getByLabel(/^Name/).first().fill('e2e-contacts');
  await page.getByLabel(/Base url/).fill(upstream_url);
  await page.getByRole('switch', { name: /Allow insecure http/ }).click();
  await page.getByLabel(/^Name/).nth(1).fill('contacts');
  await page.getByLabel(/^Path/).first().fill('/contacts');
  await screenshot(page, '12-new-connector-form');
  await page.getByRole('button', { name: 'Create connector' }).click();
  await page.getByRole('heading', { name: 'e2e-contacts' }).waitFor();
});

test('test the connection: passing', async () => {
  const { page } = browser;
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByText('Connection OK').waitFor();
  await screenshot(page, '13-test-ok');
});

test('edit it to point at a closed port, then the test fails', async () => {
  const { page } = browser;
  await page.getByLabel(/Base url/).fill('http://127.0.0.1:9');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved e2e-contacts').waitFor();
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByText('Connection failed').waitFor();
  await screenshot(page, '14-test-failed');
});

test('the list shows the connector and its last test', async () => {
  const { page } = browser;
  await page.getByRole('link', { name: 'All connectors' }).click();
  const row = page.getByRole('row', { name: /e2e-contacts/ });
  await row.waitFor();
  assert.match(await row.innerText(), /Failed/);
  await screenshot(page, '15-connectors-list');
});

test('delete it after confirming', async () => {
  const { page } = browser;
  await page.getByRole('link', { name: 'e2e-contacts' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('alertdialog').waitFor();
  await screenshot(page, '16-delete-confirm');
  await page.getByRole('button', { name: 'Delete connector' }).click();
  await page.getByText('No connectors yet').waitFor();
});
