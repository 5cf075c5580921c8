#!/usr/bin/env bash
# kvaudit vs DuckDB: ingest throughput, peak memory (at 1x and ~3x input) and query latency.
#
#   scripts/bench_ingest.sh            # from the repo root (or anywhere: it cds there)
#
# Environment:
#   BENCH_DIR        work directory (default ./bench-out, git-ignored): venv, inputs, lakes, results.md
#   SKIP_3X=1        skip the ~3x input (memory-vs-size check)
#   INGEST_RUNS=N    ingest runs per engine, best taken (default 1)
#   QUERY_RUNS=N     runs per query and engine, best taken (default 3)
#   DUCKDB_VARIANTS  comma list of typed,auto,raw (default all three; see scripts/bench_ingest.py)
#
# Idempotent: the venv, the release build and the generated inputs are reused when present;
# lakes and DuckDB outputs are recreated on every run. Needs python3 (with venv), cargo, and
# ~5 GB of disk in BENCH_DIR (1.1 GB + 3.3 GB of input, lakes and outputs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# 1. BENCH_DIR, DuckDB (PyPI) in a venv, kvaudit in release.
. scripts/bench_common.sh

# 2. Inputs: ~1M records (~1.1 GB), and ~3x that for the memory check. A `.complete` marker
#    is written only after generate succeeded, so an interrupted generate is redone.
gen() { # dir scale
    local dir=$1 scale=$2
    if [ -f "$dir/.complete" ]; then
        log "input $dir present"
        return
    fi
    rm -rf "$dir"
    log "generating $dir (--days 30 --scale $scale --seed 7)"
    "$KVAUDIT" generate --out "$dir" --days 30 --scale "$scale" --seed 7 >&2
    touch "$dir/.complete"
}
gen "$BENCH_DIR/input" 1.32
if [ "${SKIP_3X:-0}" != 1 ]; then
    gen "$BENCH_DIR/input-3x" 4
fi

# 3-6. Measurements and the results table ($BENCH_DIR/results.md).
exec "$VENV/bin/python" scripts/bench_ingest.py --kvaudit "$KVAUDIT" --bench-dir "$BENCH_DIR" \
    --input-desc "kvaudit generate --days 30 --scale 1.32 --seed 7; 3x: --scale 4" "${CLI_ARGS[@]}"
