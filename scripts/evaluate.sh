#!/usr/bin/env bash
# The detector's evaluation across seeds and scales: for each, `kvaudit evaluate`
# generates 30 days of logs with planted incidents, ingests them, detects day by day after
# ten days of learning, and scores the alerts against the truth file, beside Sentinel's
# rules on the same lake. Prints each scorecard and a summary table (bench-out/evaluate.md).
#
#   scripts/evaluate.sh                      # seeds 1..5 at scales 0.1 and 1
#   SEEDS="1 2" SCALES="0.5" scripts/evaluate.sh
#   EXTRA="--teams 20 --scale 0.2" SEEDS=1 SCALES=0.2 scripts/evaluate.sh
#   EXTRA="--clean" scripts/evaluate.sh      # no planted incidents: every alert is false
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1 2 3 4 5"}
SCALES=${SCALES:-"0.1 1"}
EXTRA=${EXTRA:-}
# KVAUDIT_BIN runs a binary already built (the scores do not depend on the build profile).
if [ -z "${KVAUDIT_BIN:-}" ]; then
  cargo build --release --locked --quiet
fi
bin=${KVAUDIT_BIN:-${CARGO_TARGET_DIR:-target}/release/kvaudit}
out=bench-out/evaluate${TAG:-}
rm -rf "$out" && mkdir -p "$out"
summary=bench-out/evaluate${TAG:-}.md
echo "| seed | scale | options | identities | vaults | identity-days | incidents found | alerts | precision | false alarms / 1,000 identity-days | sentinel found | sentinel alerts |" > "$summary"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|" >> "$summary"
for scale in $SCALES; do
  for seed in $SEEDS; do
    dir="$out/s$seed-x$scale"
    # shellcheck disable=SC2086
    json=$("$bin" evaluate --out "$dir" --seed "$seed" --scale "$scale" --format json $EXTRA)
    echo "seed $seed, scale $scale ${EXTRA}" >&2
    python3 - "$seed" "$scale" "$EXTRA" "$json" >> "$summary" <<'PY'
import json, sys
seed, scale, extra, r = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
k, s = r["kvaudit"], r["sentinel"]
inc = sum(x["incidents"] for x in k["kinds"]); found = sum(x["found"] for x in k["kinds"])
sinc = sum(x["incidents"] for x in s["kinds"]); sfound = sum(x["found"] for x in s["kinds"])
prec = k["true_alerts"] / k["alerts"] if k["alerts"] else float("nan")
fa = len(k["false_alarms"]) * 1000 / k["identity_days"] if k["identity_days"] else 0
for card in (k, s):
    for x in card["kinds"]:
        if x["incidents"] or x["alerts"]:
            print(f"  {card['detector']:<9} {x['kind']:<20} found {x['found']}/{x['incidents']}  alerts {x['true_alerts']}/{x['alerts']} true", file=sys.stderr)
for i in k.get("missed", []):
    print(f"  missed: {i['kind']} {i.get('vault')} {i['window_start']}: {i['description']}", file=sys.stderr)
for a in k["false_alarms"]:
    print(f"  false alarm: {a['kind']} {a.get('vault')} {a.get('identity_upn') or a.get('identity_appid')}: {a['explanation']}", file=sys.stderr)
print(f"| {seed} | {scale} | {extra or '-'} | {r.get('setup',{}).get('identities','-')} | {r.get('setup',{}).get('vaults','-')} | {k['identity_days']} | {found}/{inc} | {k['alerts']} | {prec:.2f} | {fa:.2f} | {sfound}/{sinc} | {s['alerts']} |")
PY
    rm -rf "$dir"
  done
done
cat "$summary"
