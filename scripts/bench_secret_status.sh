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
# $BENCH_DIR/status-lake and a chunk is generated and ingested only if its marker is
# missing (an interrupted chunk is ingested again: ingest is idempotent per source file).
# Changing DAYS/TEAMS/SCALE/SEED/START starts a new lake. Generated JSON is deleted as soon
# as its chunk is ingested, so the disk holds one chunk of JSON at most beside the lake.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_DIR=${BENCH_DIR:-./bench-out}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
VENV=$BENCH_DIR/venv
DAYS=${DAYS:-30}
CHUNK_DAYS=${CHUNK_DAYS:-3}
TEAMS=${TEAMS:-20}
SCALE=${SCALE:-2.0}
SEED=${SEED:-7}
START=${START:-2026-10-01}
RUNS=${RUNS:-5}
LAKE=$BENCH_DIR/status-lake
MARKS=$BENCH_DIR/status-lake.chunks

log() { printf '==> %s\n' "$*" >&2; }

# 1. DuckDB (PyPI) in the venv bench_ingest.sh uses; kvaudit in release.
. scripts/bench_common.sh

# 2. The lake, CHUNK_DAYS at a time: generate → ingest → delete the JSON.
PARAMS="days=$DAYS teams=$TEAMS scale=$SCALE seed=$SEED start=$START"
if [ "$(cat "$MARKS/params" 2>/dev/null)" != "$PARAMS" ]; then
    log "new lake ($PARAMS)"
    rm -rf "$LAKE" "$MARKS" "$BENCH_DIR"/status-gen-*
    mkdir -p "$MARKS"
    echo "$PARAMS" >"$MARKS/params"
fi
lake_dates() { if [ -d "$LAKE/events" ]; then ls "$LAKE/events" | sed -n "s/^date=//p" | sort; fi; }
day=0
while [ "$day" -lt "$DAYS" ]; do
    n=$(( DAYS - day < CHUNK_DAYS ? DAYS - day : CHUNK_DAYS ))
    first=$(date -u -d "$START + $day days" +%F)
    if [ -f "$MARKS/$first" ]; then
        log "chunk $first (+$n days) present"
        day=$(( day + n ))
        continue
    fi
    # Each chunk in a folder of its own: ingest keys sources by absolute path, and the hour
    # after a chunk's last day holds that day's late records under the same blob path as
    # the next chunk's first hour.
    gen=$BENCH_DIR/status-gen-$first
    rm -rf "$BENCH_DIR"/status-gen-*
    want=$(for i in $(seq 0 $(( n - 1 ))); do date -u -d "$first + $i days" +%F; done)
    resumed=0
    [ -f "$MARKS/$first.started" ] && resumed=1 # an interrupted run of this chunk
    before=$(lake_dates)
    if [ "$resumed" = 0 ] && [ -n "$(comm -12 <(echo "$before") <(echo "$want"))" ]; then
        echo "chunk $first: its dates are already in the lake" >&2; exit 1
    fi
    touch "$MARKS/$first.started"
    log "chunk $first (+$n days): generate --teams $TEAMS --scale $SCALE --seed $SEED"
    "$KVAUDIT" generate --out "$gen" --start "$first" --days "$n" --teams "$TEAMS" --scale "$SCALE" \
        --seed "$SEED" --format json >"$MARKS/$first.generate.json"
    log "chunk $first: $(du -sh "$gen" | cut -f1) of JSON; ingest"
    "$KVAUDIT" --lake "$LAKE" ingest --from "$gen/insights-logs-auditevent" --format json --no-progress \
        >"$MARKS/$first.ingest.json"
    rm -rf "$gen"
    # The chunk added exactly its own event dates: consecutive chunks never share a date.
    added=$(comm -13 <(echo "$before") <(lake_dates))
    if [ "$resumed" = 1 ]; then
        added=$(comm -12 <(lake_dates) <(echo "$want"))
    fi
    [ "$added" = "$want" ] || { echo "chunk $first added dates [$added], expected [$want]" >&2; exit 1; }
    touch "$MARKS/$first"
    day=$(( day + n ))
done

if [ "${LAKE_ONLY:-0}" = 1 ]; then
    log "lake ready in $LAKE (LAKE_ONLY=1: no measurements)"
    exit 0
fi

# 3. Measurements and the table ($BENCH_DIR/secret_status.md).
exec "$VENV/bin/python" scripts/bench_secret_status.py --kvaudit "$KVAUDIT" --lake "$LAKE" \
    --bench-dir "$BENCH_DIR" --runs "$RUNS" --sql scripts/bench_secret_status_duckdb.sql \
    --lake-desc "kvaudit generate --teams $TEAMS --scale $SCALE --seed $SEED, $DAYS days from $START in chunks of $CHUNK_DAYS (--start)" \
    "${CLI_ARGS[@]}"
