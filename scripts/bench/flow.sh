#!/usr/bin/env bash
# Flow engine throughput: REST -> mapping -> PostgreSQL and PostgreSQL -> mapping -> PostgreSQL
# (with the psql COPY pipe baseline). Needs PostgreSQL at 127.0.0.1:5432 and psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run --release -p flow-engine --example bench_flow -- "$@"
