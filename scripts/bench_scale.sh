#!/usr/bin/env bash
# kvaudit at scale beside DuckDB (issues 4 and 7): one generated lake grown to 10, 30 and
# 90 days of ~1M events a day, compacted after each step; at each step the lake's size, the
# full baseline build, hourly detection and secret-status are measured for kvaudit and for
# DuckDB on the same files (scripts/bench_scale.py), and bench-out/scale.md gets the curve.
#
#   scripts/bench_scale.sh                  # from anywhere: it cds to the repo root
#   STEPS="10 30" scripts/bench_scale.sh    # fewer steps
#
# Environment:
#   BENCH_DIR     work directory (default ./bench-out, git-ignored); reuses bench-out/venv
#   STEPS         lake sizes in days, ascending (default "10 30 90")
#   RUNS          warm runs per measurement, best taken (default 3)
#   TEAMS, SCALE, SEED, START, CHUNK_DAYS   the generator (scripts/bench_lake.sh: 20 teams ×
#                 scale 2.0 ≈ 1.07M events a day, seed 7, from 2026-10-01, 3 days a chunk)
#
# Disk: ~85 MB of Parquet per day (7.7 GB at 90 days) plus one chunk of JSON (~4 GB).
# Idempotent: an existing lake is grown, never rebuilt; a step's measurement is appended
# to $BENCH_DIR/scale.jsonl and the report shows the newest one of each size.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_DIR=${BENCH_DIR:-./bench-out}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
VENV=$BENCH_DIR/venv
STEPS=${STEPS:-10 30 90}
RUNS=${RUNS:-3}
LAKE=$BENCH_DIR/scale-lake
RESULTS=$BENCH_DIR/scale.jsonl

log() { printf '==> %s\n' "$*" >&2; }

# 1. DuckDB (PyPI) in the venv; kvaudit in release.
. scripts/bench_common.sh
# 2. The lake builder (TEAMS, SCALE, SEED, START, CHUNK_DAYS).
. scripts/bench_lake.sh

for days in $STEPS; do
    log "step: $days days"
    build_lake "$LAKE" "$days"
    # The new days' small files into one sorted file per day (days compacted before are
    # left as they are: compaction only takes partitions with small files).
    "$KVAUDIT" --lake "$LAKE" compact --format json >"$BENCH_DIR/scale-compact-$days.json"
    log "compacted: $(head -c 200 "$BENCH_DIR/scale-compact-$days.json")"
    "$VENV/bin/python" scripts/bench_scale.py measure --kvaudit "$KVAUDIT" --lake "$LAKE" \
        --bench-dir "$BENCH_DIR" --runs "$RUNS" --results "$RESULTS" --compact "$BENCH_DIR/scale-compact-$days.json"
done

exec "$VENV/bin/python" scripts/bench_scale.py report --kvaudit "$KVAUDIT" --results "$RESULTS" \
    --out "$BENCH_DIR/scale.md" \
    --lake-desc "\`kvaudit generate --teams $TEAMS --scale $SCALE --seed $SEED\` from $START, $CHUNK_DAYS days at a time, grown to each step (scripts/bench_scale.sh)"
