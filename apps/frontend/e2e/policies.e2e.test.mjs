// The Policies page end to end: a policy with a syntax error is refused and marked at its
// line in the editor (CodeMirror, loaded on demand under the app's CSP); fixed, it is saved,
// its tests run and a dry run shows what it denies — against a real `grimos serve`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp } from './support/app-url.mjs';
import { launchBrowser, screenshot } from './support/browser.mjs';
import { ADMIN_TOKEN, startGrimos } from './support/grimos.mjs';

let grimos;
let app;
let browser;

const BROKEN_LINE = 5;

before(async () => {
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
});

/** Replace the editor's text (select all, then type: auto-indent and brackets off by paste). */
async function setSource(page, text) {
  const content = page.locator('.cm-content');
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.evaluate((value) => {
    const data = new DataTransfer();
    data.setData('text/plain', value);
    document
      .querySelector('.cm-content')
      .dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
  }, text);
}

test('a policy that does not compile is refused and marked at its line', async () => {
  const { page } = browser;
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Policies' })
    .click();
  await page.getByText('No policies yet').waitFor();
  await page.getByRole('link', { name: 'New policy' }).click();
  await page.getByLabel('Name').fill('weekdays');
  await page.locator('.cm-content').waitFor();
  await setSource(
    page,
    [
      'package grimos.policies.weekdays',
      '',
      'deny contains msg if {',
      '\tinput.action == "delete"',
      '\tinput.resource.type ==',
      '}',
      '',
    ].join('\n'),
  );
  await page.getByRole('button', { name: 'Create policy' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /The policy does not compile: line \d+, column \d+/);
  await page.locator('.cm-lintRange-error').waitFor();
  const marked_line = await page.evaluate(() => {
    const range = document.querySelector('.cm-lintRange-error');
    const lines = [...document.querySelectorAll('.cm-content .cm-line')];
    return lines.findIndex((line) => line.contains(range)) + 1;
  });
  const reported = Number(/line (\d+)/.exec(await alert.innerText())[1]);
  assert.equal(marked_line, reported, 'the marker sits on the line the server names');
  assert.ok(reported >= BROKEN_LINE, `the error is at or after the broken line (${reported})`);
  assert.equal(await page.locator('.cm-lint-marker-error').count(), 1);
  await screenshot(page, '30-policy-compile-error');
});

test('fixed, it is saved, its tests run, and a dry run shows what it denies', async () => {
  const { page } = browser;
  await setSource(
    page,
    [
      'package grimos.policies.weekdays',
      '',
      'deny contains msg if {',
      '\tinput.action == "delete"',
      '\tinput.resource.type == "flow"',
      '\tmsg := "flows are not deleted here"',
      '}',
      '',
      'test_flow_delete_denied if {',
      '\tcount(deny) == 1 with input as {"action": "delete", "resource": {"type": "flow"}}',
      '}',
      '',
    ].join('\n'),
  );
  await page.getByRole('button', { name: 'Create policy' }).click();
  await page.getByRole('heading', { name: 'weekdays' }).waitFor();
  assert.equal(await page.locator('.cm-lintRange-error').count(), 0);

  await page.getByRole('button', { name: 'Run tests' }).click();
  const results = page.getByRole('list', { name: 'Test results' });
  await results.waitFor();
  assert.match(await results.innerText(), /test_flow_delete_denied\s+passed/);

  const inputs = page.getByLabel(/^Inputs/);
  await inputs.fill(
    JSON.stringify([
      { action: 'delete', resource: { type: 'flow', id: '1' } },
      { action: 'view', resource: { type: 'flow', id: '1' } },
    ]),
  );
  await page.getByRole('button', { name: 'Dry run' }).click();
  const outcome = page.getByRole('list', { name: 'Dry-run results' });
  await outcome.waitFor();
  const text = await outcome.innerText();
  assert.match(text, /Input 1: denied by 1 rule/);
  assert.match(text, /flows are not deleted here/);
  assert.match(text, /Input 2: no policy denies it/);
  await screenshot(page, '31-policy-tests-dry-run');
  assert.deepEqual(
    browser.console_errors.filter((message) => !/status of 422/.test(message)),
    [],
    'no console errors (CSP violations, exceptions) besides the refused save',
  );
});
