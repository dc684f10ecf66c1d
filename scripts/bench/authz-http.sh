#!/usr/bin/env bash
# HTTP decisions: POST /api/v1/authz/check under 32 concurrent connections (wrk), against a
# release `grimos serve` on a fresh SQLite data directory. Prints checks/s and latency
# percentiles; target >= 20,000 checks/s with p99 < 2 ms.
#
# The check is the heavier kind: allowed through a relationship (connector#editor <-
# group:sre#member <- group:oncall#member <- user), then evaluated by a Rego policy with two
# attribute rules (clearance for restricted data, operators outside business hours), asked
# by an admin token for another user. For comparison, the same run loads
#   - GET /healthz        (no authentication: the HTTP stack alone),
#   - GET /api/v1/auth/whoami (authentication alone: token hash and lookup),
#   - POST /api/v1/authz/check with a denied check (no grant: no policy evaluation),
#   - POST /api/v1/authz/check/batch with 100 allowed checks (one authentication for 100).
#
# Environment: DURATION (s, default 10), CONNECTIONS (32), THREADS (2: wrk's threads run on
# the same two cores as the server), PORT (random). Needs wrk (apt-get install wrk) and curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
port="${PORT:-$((20000 + RANDOM % 20000))}"

if ! command -v wrk >/dev/null; then
  echo "wrk is missing: apt-get install -y wrk" >&2
  exit 2
fi
cargo build --quiet --release -p grimos --manifest-path "$root/Cargo.toml"
binary="$CARGO_TARGET_DIR/release/grimos"

data=$(mktemp -d)
admin="grm_bench-admin-token-0123456789abcdefghijklmnopqrstu"
base="http://127.0.0.1:$port"
GRIMOS_ADMIN_TOKEN="$admin" GRIMOS_LOG_LEVEL=warn \
  "$binary" serve --listen "127.0.0.1:$port" --data-dir "$data" --web-dir "$data/none" \
  >"$data/server.log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 400); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -sf "$base/readyz" >/dev/null || { echo "the server did not start:" >&2; cat "$data/server.log" >&2; exit 1; }

api() { # method path [body]
  local method=$1 path=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -sS -f -X "$method" "$base$path" -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' -d "$body"
  else
    curl -sS -f -X "$method" "$base$path" -H "Authorization: Bearer $admin"
  fi
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# A member user in nested groups, editor of one connector through them, with attributes and
# a policy.
ann=$(api POST /api/v1/users '{"name":"ann","role":"member"}' | json_field id)
api POST /api/v1/authz/groups '{"id":"sre","display_name":"SRE"}' >/dev/null
api POST /api/v1/authz/groups '{"id":"oncall","display_name":"On call"}' >/dev/null
api POST /api/v1/authz/relationships "{\"writes\": [
  {\"resource\": \"connector:bench-crm\", \"relation\": \"editor\", \"subject\": \"group:sre#member\"},
  {\"resource\": \"group:sre\", \"relation\": \"member\", \"subject\": \"group:oncall#member\"},
  {\"resource\": \"group:oncall\", \"relation\": \"member\", \"subject\": \"user:$ann\"}]}" >/dev/null
api PUT "/api/v1/authz/attributes/user:$ann" '{"clearance": 4}' >/dev/null
api PUT /api/v1/authz/attributes/connector:bench-crm '{"classification": "restricted"}' >/dev/null
policy=$(python3 - <<'EOF'
import json
source = '''package grimos.policies.bench

deny contains "restricted data needs clearance 3 or more" if {
    input.resource.attributes.classification == "restricted"
    object.get(input.subject.attributes, "clearance", 0) < 3
}

deny contains msg if {
    "operator" in input.subject.roles
    input.action != "view"
    [hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
    not during_business_hours(hour)
    msg := sprintf("operators may not %s outside 09:00-17:00 UTC", [input.action])
}

during_business_hours(hour) if {
    hour >= 9
    hour < 17
}
'''
print(json.dumps({"name": "bench", "source": source}))
EOF
)
api POST /api/v1/authz/policies "$policy" >/dev/null

allowed_body="{\"subject\":\"user:$ann\",\"action\":\"edit\",\"resource\":\"connector:bench-crm\",\"context\":{\"time\":\"2025-01-06T20:00:00Z\"}}"
denied_body="{\"subject\":\"user:$ann\",\"action\":\"delete\",\"resource\":\"connector:bench-crm\",\"context\":{\"time\":\"2025-01-06T20:00:00Z\"}}"
answer=$(api POST /api/v1/authz/check "$allowed_body")
echo "the benchmarked check answers: $answer"
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['allowed'] is True and d['reasons'][0]['kind']=='relationship', d" "$answer"
answer=$(api POST /api/v1/authz/check "$denied_body")
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['allowed'] is False, d" "$answer"

lua="$data/request.lua"
load() { # label method path [body]
  local label=$1 method=$2 path=$3 body=${4:-}
  cat >"$lua" <<EOF
wrk.method = "$method"
wrk.headers["Authorization"] = "Bearer $admin"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
EOF
  # Warm-up, then the measured run.
  wrk -t"$threads" -c"$connections" -d2s -s "$lua" "$base$path" >/dev/null
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$lua" "$base$path")
  read -r _ rps p50 p99 p999 errors total <<<"$(grep '^RESULT' <<<"$out")"
  printf '%-46s %8s req/s  p50 %6s ms  p99 %6s ms  p99.9 %6s ms  (%s requests, %s errors)\n' \
    "$label" "$rps" "$p50" "$p99" "$p999" "$total" "$errors"
  echo "$rps $p99" >"$data/last"
}

echo "wrk -t$threads -c$connections -d${duration}s on $(nproc) cores (load generator and server share them); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
load "GET /healthz (no authentication)" GET /healthz
load "GET /api/v1/auth/whoami (authentication)" GET /api/v1/auth/whoami
load "POST /api/v1/authz/check, denied (no grant)" POST /api/v1/authz/check "$denied_body"
load "POST /api/v1/authz/check, allowed + policy" POST /api/v1/authz/check "$allowed_body"
read -r rps p99 <"$data/last"
batch_body="{\"checks\":[$(for _ in $(seq 1 100); do printf '%s,' "$allowed_body"; done | sed 's/,$//')]}"
load "POST /api/v1/authz/check/batch, 100 allowed" POST /api/v1/authz/check/batch "$batch_body"
read -r batch_rps _ <"$data/last"
echo "batch: $((${batch_rps%.*} * 100)) checks/s (100 per request: one authentication per 100 decisions)"
server_cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$server/stat")
echo "server CPU over the whole run: ${server_cpu} s; RSS $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$server/status")"
verdict=$(python3 -c "import sys; r, p = float(sys.argv[1]), float(sys.argv[2]); print('met' if r >= 20000 and p < 2 else 'MISSED')" "$rps" "$p99")
echo "target (allowed + policy): >= 20,000 checks/s and p99 < 2 ms: $verdict"
