#!/usr/bin/env bash
# Checks the API against its own contract: starts a real `grimos serve` (fresh SQLite data
# directory, a known admin token, a free port) and runs Schemathesis (PyPI) over the
# OpenAPI document it serves, with every check and every phase — examples, coverage,
# fuzzing and the stateful phase that follows the document's links from each create to
# the reads, updates and deletes of what it created. Any failure fails the script.
#
# Environment:
#   GRIMOS_BIN                the grimos binary (default: builds and uses the debug one)
#   API_CONTRACT_EXAMPLES     test cases per operation (default 100; about 90 s on 2 cores)
#   API_CONTRACT_SEED         the random seed (default fixed, so CI runs are reproducible)
#   API_CONTRACT_PHASES       phases to run (default examples,coverage,fuzzing,stateful)
# Extra arguments go to `schemathesis run` (e.g. --include-path-regex connectors).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"

log() { printf 'api-contract: %s\n' "$*" >&2; }

# Schemathesis from PyPI, pinned (a new release brings new checks: upgrade on purpose), in
# its own virtual environment so it cannot disturb the machine's Python packages.
schemathesis_version=4.32.5
venv="$HOME/.cache/grimos-venv"
st="$venv/bin/schemathesis"
if ! "$st" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  log "installing schemathesis $schemathesis_version into $venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    log "python3 -m venv failed; installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

if [ -z "${GRIMOS_BIN:-}" ]; then
  cargo build --quiet -p grimos
  GRIMOS_BIN="$CARGO_TARGET_DIR/debug/grimos"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="grm_$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
base="http://127.0.0.1:$port"

GRIMOS_ADMIN_TOKEN="$token" \
  GRIMOS_DATA_DIR="$work/data" \
  GRIMOS_LISTEN="127.0.0.1:$port" \
  GRIMOS_LOG_FORMAT=json \
  GRIMOS_LOG_LEVEL=warn \
  GRIMOS_WEB_DIR="$work/no-web-app" \
  "$GRIMOS_BIN" serve >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 120); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "the server exited before it was ready:"
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
if ! curl -fsS "$base/readyz" >/dev/null 2>&1; then
  log "the server was not ready within 60 s:"
  tail -n 50 "$work/server.log" >&2
  exit 1
fi
log "server ready at $base (pid $server_pid)"

examples="${API_CONTRACT_EXAMPLES:-100}"
seed="${API_CONTRACT_SEED:-1010}"
phases="${API_CONTRACT_PHASES:-examples,coverage,fuzzing,stateful}"
report_dir="$root/test-output/api-contract"
mkdir -p "$report_dir"

status=0
SCHEMATHESIS_HOOKS="$root/scripts/api-contract/hooks.py" \
  "$st" --config-file "$root/scripts/api-contract/schemathesis.toml" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --phases "$phases" \
  --max-examples "$examples" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 30 \
  --generation-database none \
  --no-color \
  --output-truncate true \
  --report junit \
  --report-junit-path "$report_dir/junit.xml" \
  "$@" 2>&1 | tee "$work/schemathesis.out" || status=$?

if grep -q '"level": *"ERROR"\|"level":"ERROR"' "$work/server.log"; then
  log "the server logged errors during the run:"
  grep '"level": *"ERROR"\|"level":"ERROR"' "$work/server.log" | head -n 20 >&2
  status=1
fi

# The closing line: operations and test cases Schemathesis ran, and the failures it found.
summary="$(python3 - "$report_dir/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    tree = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("no report")
    sys.exit(0)
suites = [tree] if tree.tag == "testsuite" else tree.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(f"{tests - failures - skipped} passed, {failures} failed, {skipped} skipped")
PY
)"
if [ "$status" -ne 0 ]; then
  log "FAILED (schemathesis exit $status; report in $report_dir)"
else
  log "the API answers as its OpenAPI document says"
fi
echo "api-contract: $summary"
exit "$status"
