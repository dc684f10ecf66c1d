#!/usr/bin/env bash
# Runs the whole grimOS test suite — Rust crates, the web app's lint, component and
# end-to-end tests — starting the services it needs first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
export GRIMOS_TEST_POSTGRES_URL="${GRIMOS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

"$root/scripts/services.sh" start
"$root/scripts/web.sh" install
"$root/scripts/web.sh" chromium

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi

echo "== Rust: cargo nextest"
cargo nextest run --workspace --no-fail-fast "$@"
echo "== Rust: doc tests"
cargo test --workspace --doc --quiet

echo "== API contract: Schemathesis against grimos serve (scripts/api-contract.sh)"
cargo build --quiet -p grimos
GRIMOS_BIN="$CARGO_TARGET_DIR/debug/grimos" "$root/scripts/api-contract.sh"

echo "== web app: lint, types from the API, component tests"
pnpm lint
pnpm --filter @grimos/frontend check:api
pnpm test
echo "== web app: end-to-end (Chromium against grimos serve)"
pnpm e2e
