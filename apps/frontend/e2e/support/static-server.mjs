// Serves the built app (dist/) with an SPA fallback, and proxies the API paths to grimos.
// Stand-in until `grimos serve` serves `/` itself (see app-url.mjs).
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { dist_dir } from './paths.mjs';

const PROXIED = ['/api/', '/livez', '/readyz'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function proxy(request, response, upstream) {
  const target = new URL(request.url, upstream);
  const forward = http.request(
    target,
    { method: request.method, headers: { ...request.headers, host: target.host } },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  forward.on('error', () => {
    response.writeHead(502);
    response.end();
  });
  request.pipe(forward);
}

function serveFile(request, response) {
  const pathname = decodeURIComponent(new URL(request.url, 'http://x').pathname);
  let file = path.join(dist_dir, path.normalize(pathname));
  if (!file.startsWith(dist_dir) || !existsSync(file) || statSync(file).isDirectory()) {
    file = path.join(dist_dir, 'index.html');
  }
  const is_asset = pathname.startsWith('/assets/');
  response.writeHead(200, {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Cache-Control': is_asset ? 'public, max-age=31536000, immutable' : 'no-cache',
    // The CSP the app works under: no inline scripts, no eval, no external hosts. Inline
    // styles are needed: Radix's scroll lock (dialogs, menus) injects a <style> element.
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
  });
  createReadStream(file).pipe(response);
}

export async function startStaticServer(upstream) {
  if (!existsSync(path.join(dist_dir, 'index.html'))) {
    throw new Error('dist/index.html missing: run `pnpm build` first');
  }
  const server = http.createServer((request, response) => {
    if (PROXIED.some((prefix) => request.url.startsWith(prefix)))
      proxy(request, response, upstream);
    else serveFile(request, response);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
