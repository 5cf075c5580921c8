#!/usr/bin/env bash
# kvaudit at scale beside DuckDB (issues 4 and 7): one generated lake grown to 10, 30 and
# 90 days of ~1M events a day, compacted; at each step (a lake of the first N days) its size, the
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
# Idempotent: an existing lake is grown, never rebuilt, so a rerun costs only the
# measurements; each step's measurement is appended to $BENCH_DIR/scale.jsonl and the
# report shows the newest one of each size.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
STEPS=${STEPS:-10 30 90}
RUNS=${RUNS:-3}

# 1. BENCH_DIR, DuckDB (PyPI) in the venv, kvaudit in release.
. scripts/bench_common.sh
LAKE=$BENCH_DIR/scale-lake
RESULTS=$BENCH_DIR/scale.jsonl
# 2. The lake builder (TEAMS, SCALE, SEED, START, CHUNK_DAYS).
. scripts/bench_lake.sh

# 3. The lake of the largest step, compacted: each day's small files into one sorted file
#    (days compacted by an earlier run are left as they are).
LARGEST=$(tr ' ' '\n' <<<"$STEPS" | sort -n | tail -1)
build_lake "$LAKE" "$LARGEST"
"$KVAUDIT" --lake "$LAKE" compact --format json >"$BENCH_DIR/scale-compact.run.json"
log "compacted: $(head -c 200 "$BENCH_DIR/scale-compact.run.json")"
# The report quotes the run that compacted something, not a rerun that found nothing to do.
if ! grep -q '"partitions_compacted":0,' "$BENCH_DIR/scale-compact.run.json"; then
    mv "$BENCH_DIR/scale-compact.run.json" "$BENCH_DIR/scale-compact.json"
fi

# 4. Each step on a lake of its first N days: the day partitions hard-linked (no copy),
#    with their manifests, so every step is a real lake of N days and can be measured
#    again later without regenerating anything.
for days in $STEPS; do
    view=$BENCH_DIR/scale-lake-$days
    log "step: $days days ($view)"
    rm -rf "$view"
    mkdir -p "$view/events" "$view/_state/manifests"
    for date in $(lake_dates "$LAKE" | head -n "$days"); do
        cp -al "$LAKE/events/date=$date" "$view/events/"
        manifest=$LAKE/_state/manifests/date=$date.json
        if [ -f "$manifest" ]; then cp "$manifest" "$view/_state/manifests/"; fi
    done
    "$VENV/bin/python" scripts/bench_scale.py measure --kvaudit "$KVAUDIT" --lake "$view" \
        --bench-dir "$BENCH_DIR" --runs "$RUNS" --results "$RESULTS" --compact "$BENCH_DIR/scale-compact.json"
    rm -rf "$view"
done

exec "$VENV/bin/python" scripts/bench_scale.py report --kvaudit "$KVAUDIT" --results "$RESULTS" \
    --out "$BENCH_DIR/scale.md" \
    --lake-desc "\`kvaudit generate --teams $TEAMS --scale $SCALE --seed $SEED\` from $START, $CHUNK_DAYS days at a time, grown to each step (scripts/bench_scale.sh)"
