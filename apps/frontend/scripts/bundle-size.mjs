// Prints the gzipped size of the production JS (and CSS) in dist/ and checks the budget.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_JS_GZIP_BYTES = 400 * 1024;
const assets_dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/assets');

let files;
try {
  files = readdirSync(assets_dir);
} catch {
  console.error('dist/assets not found: run `pnpm build` first.');
  process.exit(1);
}

const totals = { js: { raw: 0, gzip: 0 }, css: { raw: 0, gzip: 0 } };
for (const file of files.sort()) {
  const kind = file.endsWith('.js') ? 'js' : file.endsWith('.css') ? 'css' : null;
  if (kind === null) continue;
  const content = readFileSync(path.join(assets_dir, file));
  const gzip = gzipSync(content, { level: 9 }).length;
  totals[kind].raw += content.length;
  totals[kind].gzip += gzip;
  console.log(
    `${file.padEnd(36)} ${(content.length / 1024).toFixed(1).padStart(8)} kB  gzip ${(gzip / 1024).toFixed(1).padStart(7)} kB`,
  );
}
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;
console.log(
  `JS total:  ${kb(totals.js.raw)} raw, ${kb(totals.js.gzip)} gzipped (budget ${kb(BUDGET_JS_GZIP_BYTES)})`,
);
console.log(`CSS total: ${kb(totals.css.raw)} raw, ${kb(totals.css.gzip)} gzipped`);
if (totals.js.gzip > BUDGET_JS_GZIP_BYTES) {
  console.error('JS bundle over budget.');
  process.exit(1);
}
