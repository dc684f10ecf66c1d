#!/usr/bin/env bash
# Runs the whole grimOS test suite, starting the services it needs first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
export GRIMOS_TEST_POSTGRES_URL="${GRIMOS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

"$root/scripts/services.sh" start

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi
cargo nextest run --workspace --no-fail-fast "$@"
cargo test --workspace --doc
