import { fileURLToPath, URL } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `/api`, `/livez` and `/readyz` go to a running `grimos serve` during `pnpm dev`.
const grimos_url = process.env.GRIMOS_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    // Keep the output CSP-friendly: no inline module-preload polyfill script.
    modulePreload: { polyfill: false },
    // One app chunk is fine while it stays far under the 400 kB (gzipped) budget.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': grimos_url,
      '/livez': grimos_url,
      '/readyz': grimos_url,
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
