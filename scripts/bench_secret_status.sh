#!/usr/bin/env bash
# kvaudit secret-status vs DuckDB on a large lake (issue 5: ~30M events, one answer well
# under a second). Builds the lake chunk by chunk, then measures both engines in one run
# (scripts/bench_secret_status.py) and writes bench-out/secret_status.md.
#
#   scripts/bench_secret_status.sh          # from anywhere: it cds to the repo root
#
# Environment (defaults: 30 days × ~1M events a day ≈ 30M events):
#   BENCH_DIR     work directory (default ./bench-out, git-ignored); reuses bench-out/venv
#   DAYS          days in the lake (default 30)
#   CHUNK_DAYS    days generated and ingested at a time (default 3: ~3.3 GB of JSON at most)
#   TEAMS, SCALE  generator size (default 20 teams × scale 2.0 ≈ 1M events a day)
#   SEED, START   generator seed (default 7) and first day (default 2026-10-01)
#   RUNS          warm runs per measurement, best taken (default 5)
#   LAKE_ONLY=1   build the lake and stop
#
# Idempotent: the venv and the release build are reused; the lake is kept in
# $BENCH_DIR/status-lake and built by scripts/bench_lake.sh (a chunk is generated and
# ingested only if its marker is missing; a larger DAYS adds days; changing
# TEAMS/SCALE/SEED/START starts a new lake).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DAYS=${DAYS:-30}
RUNS=${RUNS:-5}

# 1. BENCH_DIR, DuckDB (PyPI) in the venv bench_ingest.sh uses, kvaudit in release.
. scripts/bench_common.sh
LAKE=$BENCH_DIR/status-lake

# 2. The lake, CHUNK_DAYS at a time: generate → ingest → delete the JSON (sets the
#    generator's defaults: TEAMS, SCALE, SEED, START, CHUNK_DAYS).
. scripts/bench_lake.sh
build_lake "$LAKE" "$DAYS"

if [ "${LAKE_ONLY:-0}" = 1 ]; then
    log "lake ready in $LAKE (LAKE_ONLY=1: no measurements)"
    exit 0
fi

# 3. Measurements and the table ($BENCH_DIR/secret_status.md).
exec "$VENV/bin/python" scripts/bench_secret_status.py --kvaudit "$KVAUDIT" --lake "$LAKE" \
    --bench-dir "$BENCH_DIR" --runs "$RUNS" --sql scripts/bench_secret_status_duckdb.sql \
    --lake-desc "kvaudit generate --teams $TEAMS --scale $SCALE --seed $SEED, $DAYS days from $START in chunks of $CHUNK_DAYS (--start)" \
    "${CLI_ARGS[@]}"
