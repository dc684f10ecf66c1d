// Where the grimos binary is: $GRIMOS_BIN, else the debug build under $CARGO_TARGET_DIR.
import { existsSync } from 'node:fs';
import path from 'node:path';

export function grimosBin() {
  const bin =
    process.env.GRIMOS_BIN ??
    path.join(process.env.CARGO_TARGET_DIR ?? '/root/.cache/grimos-target', 'debug', 'grimos');
  if (!existsSync(bin)) {
    throw new Error(
      `grimos binary not found at ${bin}: build it with \`cargo build -p grimos\` or set GRIMOS_BIN`,
    );
  }
  return bin;
}
