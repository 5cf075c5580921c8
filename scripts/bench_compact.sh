#!/usr/bin/env bash
# Compaction on a generated lake of a few million events: its throughput, and what it does
# to queries (time, and from EXPLAIN ANALYZE the files and row groups each query read),
# for the three sort orders. Prints a Markdown table (the README's "Compaction" figures).
#
#   scripts/bench_compact.sh [WORK_DIR]      (default /tmp/kvaudit-bench-compact)
#
# DAYS (10), SCALE (10: ~300k events a day) and COMMIT_BYTES (16000000: one small file
# per date per commit, as hourly ingests leave) size the lake. Needs ~6 GB of disk while
# the logs exist; they are deleted once ingested. PROFILE=dev measures the dev build
# (dependencies optimized, kvaudit at opt-level 1) when a release build is too long.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/kvaudit-bench-compact}
DAYS=${DAYS:-10}
SCALE=${SCALE:-10}
COMMIT_BYTES=${COMMIT_BYTES:-16000000}
log() { echo "bench_compact: $*" >&2; }

PROFILE=${PROFILE:-release}
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
if [ -n "${KVAUDIT_BIN:-}" ]; then # a binary already built
    KVAUDIT=$KVAUDIT_BIN
elif [ "$PROFILE" = dev ]; then
    log "cargo build (dev)"
    cargo build --quiet --bin kvaudit
    KVAUDIT=$TARGET_DIR/debug/kvaudit
else
    log "cargo build --release"
    cargo build --release --quiet
    KVAUDIT=$TARGET_DIR/release/kvaudit
fi

if [ "${REUSE:-0}" != 1 ]; then # REUSE=1: measure the queries again on WORK's lakes
rm -rf "$WORK" && mkdir -p "$WORK"
log "generating $DAYS days at scale $SCALE"
"$KVAUDIT" generate --out "$WORK/logs" --days "$DAYS" --scale "$SCALE" --seed 42 --no-incidents >/dev/null
log "ingesting with $COMMIT_BYTES-byte commits"
"$KVAUDIT" --lake "$WORK/small" ingest --from "$WORK/logs/insights-logs-auditevent" \
    --commit-bytes "$COMMIT_BYTES" --no-progress --format json >"$WORK/ingest.json"
rm -rf "$WORK/logs"
cp -r "$WORK/small" "$WORK/by-hour"
cp -r "$WORK/small" "$WORK/by-time"
cp -r "$WORK/small" "$WORK/by-vault"
fi

# The middle day, its 10:00 hour, and the busiest vault.
DAY=$(ls "$WORK/small/events" | sort | sed -n "$((DAYS / 2 + 1))p" | cut -d= -f2)
VAULT=$("$KVAUDIT" --lake "$WORK/small" query --format csv \
    "SELECT vault FROM events WHERE date = '$DAY' GROUP BY vault ORDER BY count(*) DESC LIMIT 1" | tail -1)
HOUR="SELECT count(*), count(DISTINCT identity_oid) FROM events WHERE time >= TIMESTAMP '${DAY}T10:00:00Z' AND time < TIMESTAMP '${DAY}T11:00:00Z'"
VAULT_DAY="SELECT count(*), count(DISTINCT identity_oid) FROM events WHERE vault = '$VAULT' AND time >= TIMESTAMP '${DAY}T00:00:00Z' AND time < TIMESTAMP '${DAY}T23:59:59Z'"
# The query without its comment lines: a leading `--` would read as a flag.
READERS=$(grep -v '^--' queries/secret_readers.sql)

compact() { # LAKE ORDER
    local start end
    start=$(date +%s.%N)
    "$KVAUDIT" --lake "$1" compact --order "$2" --format json >"$1.compact.json"
    end=$(date +%s.%N)
    python3 - "$1.compact.json" "$start" "$end" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
print(f"| compact --order {sys.argv[4]} | {s['files_before']} files, {s['bytes_before']/1e6:.0f} MB, {s['rows_before']} rows "
      f"→ {s['files_after']} files, {s['bytes_after']/1e6:.0f} MB | {secs:.1f} s | {s['bytes_before']/1e6/secs:.1f} MB/s, "
      f"{s['rows_before']/secs/1e6:.2f} M rows/s |")
EOF
}

measure() { # LAKE LABEL NAME SQL
    local best=999999 t0 t1 ms
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        "$KVAUDIT" --lake "$1" query --format csv "$4" >/dev/null
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        ((ms < best)) && best=$ms
    done
    "$KVAUDIT" --lake "$1" query --format csv "EXPLAIN ANALYZE $4" >"$WORK/explain.txt"
    python3 - "$WORK/explain.txt" "$2" "$3" "$best" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def pruning(name):
    pruned = matched = 0
    for total, m in re.findall(name + r"=(\d+) total → (\d+) matched", text):
        pruned += int(total) - int(m); matched += int(m)
    return pruned, matched
fp, fm = pruning("files_ranges_pruned_statistics")
rp, rm = pruning("row_groups_pruned_statistics")
pp, pm = pruning("page_index_rows_pruned")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} ms | {fp + fm} | {fm} | {rm} of {rp + rm} | {pp} |")
EOF
}

echo
echo "Lake: $(python3 -c "import json; s=json.load(open('$WORK/ingest.json')); print(f\"{s['records']} events, {s['data_files']} files from {s['commits']} commits\")"), $DAYS days; middle day $DAY, busiest vault $VAULT"
echo
echo "| step | files and bytes | time | throughput |"
echo "|---|---|---|---|"
if [ "${REUSE:-0}" != 1 ]; then
    compact "$WORK/by-hour" hour
    compact "$WORK/by-time" time
    compact "$WORK/by-vault" vault-identity-time
fi
echo
echo "| lake | query | best of 3 | files considered | files read | row groups read | page-index rows skipped |"
echo "|---|---|---|---|---|---|---|"
for lake in small by-hour by-time by-vault; do
    measure "$WORK/$lake" "$lake" secret_readers "$READERS"
    measure "$WORK/$lake" "$lake" one_hour "$HOUR"
    measure "$WORK/$lake" "$lake" vault_day "$VAULT_DAY"
done
log "done; delete $WORK when finished"
