#!/usr/bin/env bash
# Builds and runs the grimOS platform with its embedded defaults: SQLite and local state in
# ./data, listening on http://127.0.0.1:8080. Extra arguments go to `grimos serve`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
cargo build --release -p grimos
echo "grimOS: the first admin's API token is written to ${GRIMOS_DATA_DIR:-./data}/admin.token on first start" >&2
exec "$CARGO_TARGET_DIR/release/grimos" serve "$@"
