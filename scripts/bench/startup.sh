#!/usr/bin/env bash
# Start-up time of `grimos serve` on an empty data directory, and its idle resident memory.
# Prints the figures; uses the release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
cargo build --quiet --release -p grimos --manifest-path "$root/Cargo.toml"
binary="$CARGO_TARGET_DIR/release/grimos"
for run in 1 2 3; do
  data=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  start=$(date +%s%N)
  "$binary" serve --listen "127.0.0.1:$port" --data-dir "$data" --web-dir "$data/none" >"$data/log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.005; done
  ready=$(date +%s%N)
  sleep 2
  rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$data"
  printf 'run %s: ready in %d ms (empty data dir, first start), idle RSS %.1f MiB\n' \
    "$run" $(((ready - start) / 1000000)) "$(echo "$rss_kib / 1024" | bc -l)"
done
