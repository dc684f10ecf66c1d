// Copies Swagger UI (from the swagger-ui-dist package) next to the built app, so that
// `grimos serve` can show the interactive API reference at /api/docs without reaching a CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const app_dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source_dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const target_dir = path.join(app_dir, 'dist', 'api-docs');

mkdirSync(target_dir, { recursive: true });
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
  copyFileSync(path.join(source_dir, file), path.join(target_dir, file));
}
console.log(`copied Swagger UI to ${path.relative(process.cwd(), target_dir)}`);
