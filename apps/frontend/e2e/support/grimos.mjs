// Starts a real `grimos serve` on 127.0.0.1:0 with a fresh SQLite data dir and a fixed
// admin token; resolves with its address once it logs "grimos listening".
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { grimosBin } from '../../scripts/grimos-bin.mjs';
import { dist_dir } from './paths.mjs';

export const ADMIN_TOKEN = 'grm_e2e_admin_token_0123456789abcdefghij';

export async function startGrimos({ env = {} } = {}) {
  const data_dir = mkdtempSync(path.join(os.tmpdir(), 'grimos-e2e-'));
  const child = spawn(grimosBin(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', data_dir], {
    env: {
      ...process.env,
      GRIMOS_ADMIN_TOKEN: ADMIN_TOKEN,
      GRIMOS_LOG_FORMAT: 'json',
      GRIMOS_WEB_DIR: dist_dir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  child.stderr.on('data', (chunk) => logs.push(String(chunk)));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`grimos did not start:\n${logs.join('')}`)),
      60_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`grimos exited with ${code}:\n${logs.join('')}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      logs.push(line + '\n');
      try {
        const entry = JSON.parse(line);
        const message = entry.message ?? entry.fields?.message;
        const found = entry.address ?? entry.fields?.address;
        if (message === 'grimos listening' && found) {
          clearTimeout(timer);
          resolve(found);
        }
      } catch {
        // not a JSON line
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `http://${address}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(data_dir, { recursive: true, force: true });
    },
  };
}
