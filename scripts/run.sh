#!/usr/bin/env bash
# Builds and runs the grimOS platform with its embedded defaults: SQLite and local state in
# ./data, the admin web app at http://127.0.0.1:8080/. Extra arguments go to `grimos serve`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"

"$root/scripts/web.sh" install
pnpm build
cargo build --release -p grimos
echo "grimOS: open http://127.0.0.1:8080/ and sign in with the token in ${GRIMOS_DATA_DIR:-./data}/admin.token (written on first start)" >&2
exec "$CARGO_TARGET_DIR/release/grimos" serve --web-dir "$root/apps/frontend/dist" "$@"
