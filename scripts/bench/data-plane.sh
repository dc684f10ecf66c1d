#!/usr/bin/env bash
# The data-plane benchmarks of docs/benchmarks.md ("Data plane"), each printed next to its
# baseline measured in the same run, as whole processes (start-up included):
#
#  1. PostgreSQL -> PostgreSQL, ROWS rows of 11 columns (bigint, 8 text, timestamptz,
#     numeric(12,2)), target without an index: `grimos flow run` with every column mapped
#     to itself, then with 3 casts and 2 string transforms added, against
#     `psql COPY ... TO STDOUT (FORMAT binary) | psql COPY ... FROM STDIN (FORMAT binary)`.
#  2. REST (REST_RECORDS records of about 260 bytes, nested address, cursor pages of 1,000,
#     served by a separate process) -> 11-column mapping with int/timestamp/decimal casts ->
#     PostgreSQL.
#
# For each: wall seconds, rows/s, client CPU (user + system of the client processes) per
# row, and peak RSS; the targets are then compared with the source (`EXCEPT`).
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust), psql and /usr/bin/time.
#
#   scripts/bench/data-plane.sh [pg|rest|all]      ROWS=1000000 REST_RECORDS=200000 RUNS=3
set -euo pipefail
cd "$(dirname "$0")/../.."
which="${1:-all}"
ROWS="${ROWS:-1000000}"
REST_RECORDS="${REST_RECORDS:-200000}"
RUNS="${RUNS:-3}"
BATCH="${BATCH:-10000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimos-target}"
export PGOPTIONS="-c client_min_messages=warning"
PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
PSQL=(psql -h 127.0.0.1 -U postgres -d postgres -q -v ON_ERROR_STOP=1)

cargo build --quiet --release -p grimos
cargo build --quiet --release -p flow-engine --example bench_api_server
GRIMOS="$CARGO_TARGET_DIR/release/grimos"
API_SERVER="$CARGO_TARGET_DIR/release/examples/bench_api_server"

work="$(mktemp -d)"
api_pid=""
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# measure LABEL ROWS COMMAND...: runs COMMAND under /usr/bin/time and prints one line.
# Sets SECONDS_TAKEN for ratios.
measure() {
  local label="$1" rows="$2"
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "$label failed:" >&2
    cat "$work/out" "$work/err" >&2
    exit 1
  }
  read -r wall user sys rss_kb <"$work/time"
  SECONDS_TAKEN="$wall"
  awk -v l="$label" -v r="$rows" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss_kb" 'BEGIN {
    printf "  %-34s %6.2f s  %9.0f rows/s  client CPU %5.2f s = %5.2f us/row  peak RSS %6.1f MiB\n",
      l, w, r / w, u + s, (u + s) * 1e6 / r, m / 1024 }'
}

same_rows() { # same_rows SOURCE TARGET: exits non-zero unless both hold the same rows
  local diff
  diff="$("${PSQL[@]}" -At -c "SELECT (SELECT count(*) FROM $2) - (SELECT count(*) FROM $1), (SELECT count(*) FROM (SELECT * FROM $1 EXCEPT SELECT * FROM $2) d)")"
  if [ "$diff" != "0|0" ]; then
    echo "  $2 differs from $1 (row count difference | rows missing): $diff" >&2
    exit 1
  fi
}

flow_file() { # flow_file NAME SOURCE_CONNECTOR_JSON SOURCE_STREAM TARGET_TABLE RULES_JSON
  cat >"$work/$1.yaml" <<YAML
name: $1
source:
  connector: $2
  stream: $3
target:
  connector: {type: sql, url: "$PG_URL"}
  stream: $4
  mode: insert
mapping:
  rules: $5
options:
  batch_size: $BATCH
YAML
  rm -f "$work/$1.state.json" "$work/$1.rejects.jsonl"
}

bench_pg() {
  echo "== PostgreSQL -> PostgreSQL, $ROWS rows x 11 columns (bigint, 8 text, timestamptz, numeric(12,2)), target without index"
  "${PSQL[@]}" -c "DROP TABLE IF EXISTS dp_src, dp_pipe, dp_flow, dp_flow_cast;
    CREATE TABLE dp_src (id bigint, c1 text, c2 text, c3 text, c4 text, c5 text, c6 text, c7 text, c8 text,
      created_at timestamptz, amount numeric(12,2));
    INSERT INTO dp_src SELECT g, 'first ' || g, 'last ' || g, 'user' || g || '@example.com', '+33 6 ' || g,
      g % 200 || ' rue de la Paix', 'Paris', '750' || lpad((g % 20)::text, 2, '0'), 'FR',
      timestamptz '2024-01-01' + g * interval '1 second', (g % 1000000) / 100.0
      FROM generate_series(1, $ROWS) g;
    CREATE UNLOGGED TABLE dp_pipe (LIKE dp_src); CREATE UNLOGGED TABLE dp_flow (LIKE dp_src);
    CREATE UNLOGGED TABLE dp_flow_cast (LIKE dp_src);" -c "VACUUM ANALYZE dp_src" -c "CHECKPOINT"
  local source="{type: sql, url: \"$PG_URL\", streams: [{name: src, table: dp_src}]}"
  local columns=(id c1 c2 c3 c4 c5 c6 c7 c8 created_at amount)
  local identity="" rule
  for c in "${columns[@]}"; do identity+="{target: $c, source: $c}, "; done
  flow_file identity "$source" src dp_flow "[${identity%, }]"
  local casts="[{target: id, source: id, cast: int}, {target: c1, source: c1, transform: [upper]},
    {target: c2, source: c2, transform: [trim]}, {target: c3, source: c3}, {target: c4, source: c4},
    {target: c5, source: c5}, {target: c6, source: c6}, {target: c7, source: c7}, {target: c8, source: c8},
    {target: created_at, source: created_at, cast: timestamp}, {target: amount, source: amount, cast: decimal}]"
  flow_file casts "$source" src dp_flow_cast "$casts"
  for run in $(seq 1 "$RUNS"); do
    echo " run $run"
    "${PSQL[@]}" -c "TRUNCATE dp_pipe, dp_flow, dp_flow_cast" -c "CHECKPOINT"
    measure "psql COPY binary | psql COPY" "$ROWS" sh -c \
      "psql -h 127.0.0.1 -U postgres -d postgres -c 'COPY dp_src TO STDOUT (FORMAT binary)' | psql -h 127.0.0.1 -U postgres -d postgres -q -c 'COPY dp_pipe FROM STDIN (FORMAT binary)'"
    local pipe="$SECONDS_TAKEN"
    rm -f "$work"/identity.state.json "$work"/casts.state.json
    measure "grimos flow run (identity)" "$ROWS" "$GRIMOS" flow run "$work/identity.yaml"
    awk -v p="$pipe" -v f="$SECONDS_TAKEN" 'BEGIN { printf "  %-34s %.2fx the pipe (target >= 0.8x)\n", "", p / f }'
    measure "grimos flow run (3 casts, 2 transforms)" "$ROWS" "$GRIMOS" flow run "$work/casts.yaml"
    awk -v p="$pipe" -v f="$SECONDS_TAKEN" 'BEGIN { printf "  %-34s %.2fx the pipe (target >= 0.6x)\n", "", p / f }'
  done
  same_rows dp_src dp_pipe
  same_rows dp_src dp_flow
  "${PSQL[@]}" -c "UPDATE dp_src SET c1 = upper(c1)"
  same_rows dp_src dp_flow_cast
  echo "  targets hold exactly the source rows (the cast flow: with c1 upper-cased)"
  "${PSQL[@]}" -c "DROP TABLE dp_src, dp_pipe, dp_flow, dp_flow_cast"
}

bench_rest() {
  echo "== REST ($REST_RECORDS records, cursor pages of 1,000, separate process) -> 11 columns with int/timestamp/decimal casts -> PostgreSQL"
  "$API_SERVER" "$REST_RECORDS" 1000 >"$work/api.out" &
  api_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/api.out" 2>/dev/null && break; sleep 0.1; done
  local base
  base="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/api.out")"
  echo "  API $(cat "$work/api.out")"
  "${PSQL[@]}" -c "DROP TABLE IF EXISTS dp_rest; CREATE UNLOGGED TABLE dp_rest (id bigint, first_name text,
    last_name text, email text, phone text, street text, city text, postcode text, country text,
    balance numeric(12,2), created_at timestamptz)"
  local source="{type: rest, base_url: \"$base/v1\", allow_insecure_http: true, streams: [{name: customers,
    path: /customers, records: \"\$.data\", primary_key: [id],
    paginator: {type: cursor, cursor_path: \"\$.next_cursor\", param: cursor}}]}"
  local rules="[{target: id, source: id, cast: int}, {target: first_name, source: first_name},
    {target: last_name, source: last_name}, {target: email, source: email, transform: [lower]},
    {target: phone, source: phone}, {target: street, source: address.street}, {target: city, source: address.city},
    {target: postcode, source: address.postcode}, {target: country, source: address.country},
    {target: balance, source: balance, cast: decimal}, {target: created_at, source: created_at, cast: timestamp}]"
  BATCH=1000 flow_file rest "$source" customers dp_rest "$rules"
  for run in $(seq 1 "$RUNS"); do
    "${PSQL[@]}" -c "TRUNCATE dp_rest"
    rm -f "$work/rest.state.json"
    measure "grimos flow run (REST, run $run)" "$REST_RECORDS" "$GRIMOS" flow run "$work/rest.yaml"
    echo "  (target >= 300,000 records/s)"
  done
  local count
  count="$("${PSQL[@]}" -At -c "SELECT count(DISTINCT id) FROM dp_rest")"
  [ "$count" = "$REST_RECORDS" ] || { echo "  dp_rest holds $count distinct ids, expected $REST_RECORDS" >&2; exit 1; }
  echo "  target holds every record once"
  "${PSQL[@]}" -c "DROP TABLE dp_rest"
  kill "$api_pid"; api_pid=""
}

case "$which" in
  pg) bench_pg ;;
  rest) bench_rest ;;
  all) bench_pg; bench_rest ;;
  *) echo "usage: $0 [pg|rest|all]" >&2; exit 2 ;;
esac
