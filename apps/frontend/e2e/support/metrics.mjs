import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { output_dir } from './paths.mjs';

/** Navigation timing of the current page: start → DOMContentLoaded and → load, in ms. */
export async function navigationTiming(page) {
  await page.waitForFunction(() => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0);
  return page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation');
    return {
      dom_content_loaded_ms: Math.round(entry.domContentLoadedEventEnd),
      load_ms: Math.round(entry.loadEventEnd),
      transfer_bytes: entry.transferSize,
    };
  });
}

export function saveMetrics(name, metrics) {
  mkdirSync(output_dir, { recursive: true });
  writeFileSync(path.join(output_dir, `${name}.json`), JSON.stringify(metrics, null, 2) + '\n');
  console.log(`${name}: ${JSON.stringify(metrics)}`);
}
