// Debian's Chromium driven by playwright-core, with a fresh profile each run.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { screenshot_dir } from './paths.mjs';

const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

export async function launchBrowser(options = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'grimos-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 800 },
    ...options,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const console_errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') console_errors.push(message.text());
  });
  page.on('pageerror', (error) => console_errors.push(String(error)));
  return {
    context,
    page,
    console_errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(screenshot_dir, { recursive: true });
  await page.screenshot({ path: path.join(screenshot_dir, `${name}.png`), fullPage: true });
}
