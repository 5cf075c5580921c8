#!/usr/bin/env bash
# The soak test (tests/it/soak.rs) over many cycles: `kvaudit serve` on a one-second
# schedule over Azurite holding 7 days of generated logs, then HOURS more hours appended an
# hour per round (two cycles a round), delivering to a real SMTP server while four API
# clients poll. The test's own checks (nothing lost, duplicated or mailed twice, no failed
# poll, bounded memory growth) decide the exit status; this script adds the memory curve.
#
#   scripts/soak.sh      (HOURS=336: two weeks of rounds, about 680 cycles, ~12 minutes)
#   COMPACT_EVERY=10s HOURS=168 scripts/soak.sh    (the service compacts every 10 s; default 1h)
#
# Writes bench-out/soak-rss.csv (one line per round: round, hours appended, resident KiB of
# the serve process, records ingested, seconds since the first round), bench-out/soak.log
# (the test's output) and bench-out/soak-summary.md: resident memory min/median/max per
# quarter of the run, and the least-squares slope over the second half in KiB per round.
# Installs Azurite and aiosmtpd as scripts/test.sh does (scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
HOURS=${HOURS:-336}
COMPACT_EVERY=${COMPACT_EVERY:-1h}
OUT=bench-out
log() { echo "soak: $*" >&2; }

. scripts/tools.sh
tools_azurite
tools_smtp

mkdir -p "$OUT"
rm -f "$OUT/soak-rss.csv"
log "$HOURS hours appended one per round; samples in $OUT/soak-rss.csv"
started=$(date +%s)
status=0
KVAUDIT_SOAK_HOURS=$HOURS KVAUDIT_SOAK_RSS_OUT="$OUT/soak-rss.csv" KVAUDIT_SOAK_COMPACT_EVERY=$COMPACT_EVERY \
    cargo test --locked --test it -- soak --nocapture 2>&1 | tee "$OUT/soak.log" || status=$?
seconds=$(($(date +%s) - started))

[ -s "$OUT/soak-rss.csv" ] || { log "no samples written (see $OUT/soak.log)"; exit 1; }
python3 - "$OUT/soak-rss.csv" "$HOURS" "$seconds" "$status" >"$OUT/soak-summary.md" <<'PY'
import csv, statistics, sys

path, hours, seconds, status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = list(csv.DictReader(open(path)))
rss = [int(r["rss_kib"]) for r in rows]
n = len(rss)

def slope(ys):
    mx, my = (len(ys) - 1) / 2, sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in range(len(ys)))
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / den if den else 0.0

mib = lambda kib: f"{kib / 1024:.0f}"
print(f"Soak: {hours} hours appended, {n} rounds, {rows[-1]['records']} records, "
      f"rounds {float(rows[-1]['elapsed_s']):.0f} s, whole run {seconds} s, test "
      + ("passed" if status == 0 else f"FAILED ({status})") + ".\n")
print("| rounds | RSS min MiB | median | max |")
print("|---|---|---|---|")
for q in range(4):
    part = rss[q * n // 4:(q + 1) * n // 4]
    if part:
        print(f"| {q * n // 4}–{(q + 1) * n // 4 - 1} | {mib(min(part))} | {mib(statistics.median(part))} | {mib(max(part))} |")
half = rss[n // 2:]
s = slope(half)
print(f"\nSecond half (rounds {n // 2}–{n - 1}): slope {s:+.1f} KiB per round "
      f"({s * len(half) / 1024:+.1f} MiB over those {len(half)} rounds); last sample {mib(rss[-1])} MiB.")
PY
cat "$OUT/soak-summary.md"
exit "$status"
