#!/usr/bin/env bash
# `grimos policy eval` on LINES JSON input lines, as a whole process (start-up, compiling
# the policies, reading the file and writing every result included): lines/s from the wall
# time, and the CPU time (user + system) and peak RSS from /usr/bin/time.
#
# Policies: the two attribute rules of docs/authorization.md (restricted data needs
# clearance >= 3; operators change nothing outside 09:00-17:00 UTC) in
# grimos.policies.attributes, and a decision rule `data.bench.allow` (the relationship
# allowed and no denial) reading a data document. Inputs: decision inputs of the
# documented shape (about 400 bytes each), subjects, actions, classifications and times
# varied. Each run's output is checked: one line per input, every line a result.
#
#   scripts/bench/policy-eval.sh        LINES=100000 RUNS=3 THREADS=(all cores) NO_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES="${LINES:-100000}"
RUNS="${RUNS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --quiet --release -p grimos
fi
GRIMOS="$CARGO_TARGET_DIR/release/grimos"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/attributes.rego" <<'REGO'
package grimos.policies.attributes

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
REGO

cat > "$work/bench.rego" <<'REGO'
package bench

default allow := false

allow if {
	input.relationship.allowed
	not input.subject.id in data.blocked
	count(data.grimos.policies.attributes.deny) == 0
}
REGO

echo '{"blocked": ["user:0013", "user:0666"]}' > "$work/data.json"

python3 - "$LINES" > "$work/inputs.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
roles = ["member", "operator", "viewer", "admin"]
actions = ["view", "edit", "run", "delete"]
out = sys.stdout
for i in range(n):
    out.write(json.dumps({
        "subject": {"id": f"user:{i % 1000:04}", "kind": "user", "roles": [roles[i % 4]],
                    "groups": [f"group:g{i % 10}#member"], "attributes": {"clearance": i % 6}},
        "action": actions[i // 4 % 4],
        "resource": {"type": "connector", "id": f"{i:08x}", "owner": "user:0001",
                     "attributes": {"classification": "restricted" if i % 7 == 0 else "internal"}},
        "context": {"time": f"2025-01-06T{i % 24:02}:{i % 60:02}:00Z", "ip": "10.0.0.7",
                    "request_id": f"req-{i}"},
        "relationship": {"allowed": i % 11 != 0, "path": ["connector:x#editor", "user:x"]},
    }, separators=(",", ":")) + "\n")
PY
bytes=$(stat -c %s "$work/inputs.jsonl")
cores=$(nproc)
echo "grimos policy eval: $LINES lines ($((bytes / LINES)) bytes each), $cores cores, $RUNS runs"

run() {
  local label="$1"; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$GRIMOS" policy eval \
    --policy "$work/attributes.rego" --policy "$work/bench.rego" --data "$work/data.json" \
    --query data.bench.allow --inputs "$work/inputs.jsonl" "$@" > "$work/out.jsonl"
  end=$(date +%s.%N)
  read -r user sys rss < "$work/time"
  local results allowed
  results=$(grep -c '^{"result":' "$work/out.jsonl" || true)
  allowed=$(grep -c '^{"result":true}$' "$work/out.jsonl" || true)
  if [ "$results" != "$LINES" ]; then
    echo "FAILED: $results results for $LINES lines" >&2
    head -3 "$work/out.jsonl" >&2
    exit 1
  fi
  awk -v label="$label" -v n="$LINES" -v s="$start" -v e="$end" -v u="$user" -v y="$sys" \
      -v rss="$rss" -v allowed="$allowed" 'BEGIN {
    wall = e - s
    printf "%-10s %6.3f s wall  %9.0f lines/s  CPU %5.2f s (user %.2f, sys %.2f)  %5.1f us CPU/line  RSS %d MB  (%d allowed)\n",
      label, wall, n / wall, u + y, u, y, (u + y) * 1e6 / n, rss / 1024, allowed
  }'
}

for i in $(seq "$RUNS"); do
  if [ -n "${THREADS:-}" ]; then
    run "threads=$THREADS" --threads "$THREADS"
  else
    run "all cores"
  fi
done
run "1 thread" --threads 1
