import { startStaticServer } from './static-server.mjs';

// Switch to `true` once `grimos serve` serves the app at `/` (SPA fallback): the e2e then
// talks to grimos directly and the static proxy is no longer started.
const GRIMOS_SERVES_APP = true;

export async function startApp(grimos) {
  if (GRIMOS_SERVES_APP) return { url: grimos.url, stop: async () => {} };
  return startStaticServer(grimos.url);
}
