// Sign-in, header, theme and sign-out against a real `grimos serve` (SQLite, temp data dir).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp } from './support/app-url.mjs';
import { launchBrowser, screenshot } from './support/browser.mjs';
import { ADMIN_TOKEN, startGrimos } from './support/grimos.mjs';
import { navigationTiming, saveMetrics } from './support/metrics.mjs';

let grimos;
let app;
let browser;

before(async () => {
  grimos = await startGrimos();
  app = await startApp(grimos);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await grimos?.stop();
});

test('first load is fast and lands on sign-in', async () => {
  const { page } = browser;
  await page.goto(`${app.url}/`);
  await page.getByLabel('API token').waitFor();
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  const timing = await navigationTiming(page);
  saveMetrics('first-load', timing);
  assert.ok(timing.load_ms < 1000, `first load took ${timing.load_ms} ms`);
  await screenshot(page, '01-sign-in');
});

test('an invalid token is refused with a message', async () => {
  const { page } = browser;
  await page.getByLabel('API token').fill('grm_not_a_real_token_00000000000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token was not accepted').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('grimos.token')), null);
  await screenshot(page, '02-sign-in-invalid');
});

test('a valid token signs in and the header shows the user and role', async () => {
  const { page } = browser;
  await page.getByLabel('API token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Connectors' }).waitFor();
  const user = page.getByTestId('current-user');
  await user.waitFor();
  assert.match(await user.innerText(), /admin/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('grimos.token')), ADMIN_TOKEN);
  await page.waitForLoadState('networkidle');
  await screenshot(page, '03-connectors');
});

test('the theme toggles and is remembered', async () => {
  const { page } = browser;
  const dark_before = await page.evaluate(() =>
    document.documentElement.classList.contains('dark'),
  );
  const toggle = page.getByRole('button', { name: /Switch to (dark|light) theme/ });
  await toggle.click();
  const dark_after = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  assert.notEqual(dark_after, dark_before);
  await page.reload();
  await page.getByRole('heading', { name: 'Connectors' }).waitFor();
  assert.equal(
    await page.evaluate(() => document.documentElement.classList.contains('dark')),
    dark_after,
  );
  await screenshot(page, dark_after ? '04-connectors-dark' : '04-connectors-light');
  if (!dark_after) {
    await toggle.click();
    await screenshot(page, '04-connectors-dark');
  }
});

test('on a 375 px phone the navigation collapses into a menu', async () => {
  const { page } = browser;
  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByRole('button', { name: 'Open navigation menu' }).click();
  await page.getByRole('menuitem', { name: 'Connectors' }).waitFor();
  await screenshot(page, '05-mobile-menu');
  await page.keyboard.press('Escape');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('sign out returns to sign-in and forgets the token', async () => {
  const { page } = browser;
  await page.getByRole('button', { name: /Account:/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('grimos.token')), null);
  await screenshot(page, '06-signed-out');
  assert.deepEqual(
    browser.console_errors.filter((text) => !/status of (401|404)/.test(text)),
    [],
    'no console errors (CSP violations, exceptions)',
  );
});
