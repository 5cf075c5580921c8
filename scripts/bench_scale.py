"""kvaudit at scale, beside DuckDB on the same files: one step of the growth curve, or the report.

Run through scripts/bench_scale.sh, which builds one generated lake (90 days of ~1M events a
day), compacts it, calls `measure` on lakes of its first 10, 30 and 90 days, then `report`.
Measurement as in bench_ingest.py (whose `run` it reuses): every measured run is its own
process, wall time from start to exit, peak RSS from that child's rusage; "warm" is the
best of --runs with the page cache warm.

Per step:
- the lake: events, event Parquet files and bytes, bytes per million events (compacted);
- the full baseline build: the first `kvaudit detect` over the newest hour of a lake
  without `baselines/` (it rolls up every day of the 30-day history and every day of the
  lake's access index, learns the baselines, scores the hour and evaluates lifecycle)
  beside DuckDB running the same query files the same way (scripts/bench_scale_duckdb.py
  --mode build);
- hourly detection: the same `kvaudit detect` again, rollups built, beside DuckDB's
  `--mode detect` (the SQL part only: DuckDB runs no statistics and no alert rules);
- `secret-status` of the busiest secret, warm, beside scripts/bench_secret_status_duckdb.sql
  on the event files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import Run, best, dir_mb, run  # noqa: E402
from bench_secret_status import DUCKDB_RUNNER, resolve_sql  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PHASES = ("open_and_refresh_ms", "history_ms", "baselines_ms", "window_ms", "lifecycle_and_practice_ms")


def progress(s: str) -> None:
    print(f"  .. {s}", file=sys.stderr, flush=True)


def phases_of(stderr: str) -> dict[str, int]:
    """The phase times `detect -vv` logs (src/detect/mod.rs), in ms."""
    text = ANSI.sub("", stderr)
    found = {}
    for key in PHASES:
        m = re.search(rf"\b{key}=(\d+)", text)
        if m:
            found[key] = int(m.group(1))
    return found


def reset_baselines(lake: Path) -> None:
    """A lake as ingest and compaction leave it: no rollups, alerts or detector state."""
    for sub in ("baselines", "alerts"):
        shutil.rmtree(lake / sub, ignore_errors=True)
    for state in ("rollups.json", "detector.json"):
        (lake / "_state" / state).unlink(missing_ok=True)


def lake_dates(lake: Path) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(p.name[5:]) for p in (lake / "events").iterdir() if p.name.startswith("date="))


def measure(args: argparse.Namespace) -> None:
    import duckdb

    lake, bench, python = args.lake.resolve(), args.bench_dir.resolve(), sys.executable
    kv = str(Path(args.kvaudit).resolve())
    repo = Path(__file__).resolve().parent.parent
    events_glob = f"{lake}/events/date=*/*.parquet"
    dates = lake_dates(lake)
    newest = dates[-1]
    end = dt.datetime.combine(newest + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    start = end - dt.timedelta(hours=1)
    window = [start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")]

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    events = con.execute(f"SELECT count(*) FROM read_parquet('{events_glob}')").fetchone()[0]
    busy = con.execute(
        f"SELECT vault, lower(object_name), count(*) AS reads FROM read_parquet('{events_glob}') "
        "WHERE object_type = 'secret' AND operation = 'SecretGet' AND http_status < 400 AND object_name IS NOT NULL "
        "GROUP BY 1, 2 ORDER BY reads DESC, 1, 2 LIMIT 1").fetchone()
    con.close()
    files = list((lake / "events").glob("date=*/*.parquet"))
    event_bytes = sum(f.stat().st_size for f in files)
    progress(f"{len(dates)} days, {events:,} events, {len(files)} files, {event_bytes / 1e9:.2f} GB")

    detect = [kv, "--lake", str(lake), "-vv", "detect", "--from", window[0], "--to", window[1], "--format", "json"]
    reset_baselines(lake)
    progress("kvaudit: full baseline build (first detect)")
    cold = run(detect)
    baselines_mb = dir_mb(lake / "baselines")
    progress(f"kvaudit: hourly detection x{args.runs}")
    warm = best([run(detect) for _ in range(args.runs)])

    duck_out = bench / "scale-duckdb-rollups"
    shutil.rmtree(duck_out, ignore_errors=True)
    duck = [python, str(repo / "scripts" / "bench_scale_duckdb.py"), "--lake", str(lake), "--out", str(duck_out),
            "--queries", str(repo / "queries"), "--from", window[0], "--to", window[1]]
    progress("DuckDB: full baseline build")
    duck_cold = run(duck + ["--mode", "build"])
    progress(f"DuckDB: hourly detection x{args.runs}")
    duck_warm = best([run(duck + ["--mode", "detect"]) for _ in range(args.runs)])

    vault, secret = busy[0], busy[1]
    progress(f"secret-status {vault}/{secret} x{args.runs}")
    status = best([run([kv, "--lake", str(lake), "secret-status", f"{vault}/{secret}", "--format", "json"])
                   for _ in range(args.runs)])
    resolved = bench / "scale_secret_status_duckdb.sql"
    resolved.write_text(resolve_sql((repo / "scripts" / "bench_secret_status_duckdb.sql").read_text(),
                                    EVENTS=events_glob, VAULT=vault, SECRET=secret,
                                    AS_OF=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    WINDOW_START=(end - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    duck_status = best([run([python, "-c", DUCKDB_RUNNER, str(resolved)]) for _ in range(args.runs)])

    def row(r: Run, detail: dict | None = None) -> dict:
        return {"s": round(r.seconds, 3), "cpu_s": round(r.cpu_seconds, 2), "rss_mb": round(r.peak_rss_mb),
                **({"phases": detail} if detail else {})}

    step = {
        "days": len(dates), "first": dates[0].isoformat(), "newest": newest.isoformat(), "events": events,
        "files": len(files), "event_bytes": event_bytes, "baselines_mb": round(baselines_mb, 1),
        "window": window, "secret": f"{vault}/{secret}", "runs": args.runs,
        "compact": json.loads(args.compact.read_text()) if args.compact and args.compact.exists() else None,
        "kvaudit_build": row(cold, phases_of(cold.stderr)), "kvaudit_detect": row(warm, phases_of(warm.stderr)),
        "duckdb_build": row(duck_cold, json.loads(duck_cold.stdout)["phases"]),
        "duckdb_detect": row(duck_warm, json.loads(duck_warm.stdout)["phases"]),
        "kvaudit_status": row(status), "duckdb_status": row(duck_status),
        "alerts": len(warm.stdout.splitlines()), "load": os.getloadavg()[0], "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with open(args.results, "a") as out:
        out.write(json.dumps(step) + "\n")
    progress(f"step of {len(dates)} days written to {args.results}")


def report(args: argparse.Namespace) -> None:
    import duckdb

    steps = {}
    for line in args.results.read_text().splitlines():
        step = json.loads(line)
        steps[step["days"]] = step  # the newest measurement of each size
    steps = [steps[d] for d in sorted(steps)]
    kv_version = run([args.kvaudit, "--version"]).stdout.strip()
    lines: list[str] = []
    say = lines.append
    say(f"# kvaudit at scale, beside DuckDB {duckdb.__version__} ({kv_version}; {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d')})")
    say("")
    c = steps[-1].get("compact") or {}
    compacted = (f" ({c['partitions_compacted']} days: {c['files_before']} files, {c['bytes_before'] / 1e9:.2f} GB → "
                 f"{c['files_after']} files, {c['bytes_after'] / 1e9:.2f} GB in {c['seconds']:.0f} s)"
                 if c.get("partitions_compacted") else "")
    say(f"Lake: {args.lake_desc}; compacted by `kvaudit compact` (default order){compacted}. "
        "A step of N days is a lake of the first N days (partitions hard-linked). One process per run, page "
        "cache warm; warm = best of the runs; detection window = the newest hour; history 30 days.")
    say("")
    say("| days | events | event files | GB on disk | MB per million events | baselines MB |")
    say("|---:|---:|---:|---:|---:|---:|")
    for s in steps:
        say(f"| {s['days']} | {s['events']:,} | {s['files']} | {s['event_bytes'] / 1e9:.2f} | "
            f"{s['event_bytes'] / 1e6 / (s['events'] / 1e6):.1f} | {s['baselines_mb']} |")
    say("")
    say("| days | question | kvaudit s | DuckDB s | DuckDB/kvaudit | kvaudit peak RSS MB | DuckDB peak RSS MB |")
    say("|---:|---|---:|---:|---:|---:|---:|")
    for s in steps:
        for key, name in (("build", "full baseline build (first detect)"), ("detect", "hourly detection (warm)"),
                          ("status", "secret-status, busiest secret (warm)")):
            k, d = s[f"kvaudit_{key}"], s[f"duckdb_{key}"]
            say(f"| {s['days']} | {name} | {k['s']:.2f} | {d['s']:.2f} | {d['s'] / k['s']:.2f}× | "
                f"{k['rss_mb']} | {d['rss_mb']} |")
    say("")
    say("Where the time goes (ms; kvaudit from `detect -vv`, DuckDB from its runner):")
    say("")
    say("| days | run | kvaudit: open + rollups · history · baselines · window · lifecycle | "
        "DuckDB: rollups · history · baselines · window · lifecycle |")
    say("|---:|---|---|---|")
    for s in steps:
        for key in ("build", "detect"):
            kp, dp = s[f"kvaudit_{key}"].get("phases", {}), s[f"duckdb_{key}"].get("phases", {})
            kv = " · ".join(str(kp.get(p, "–")) for p in PHASES)
            rollups = round(1000 * (dp.get("activity_rollups", 0) + dp.get("object_access_rollups", 0)))
            dk = " · ".join(str(x) for x in [rollups] + [round(1000 * dp.get(p, 0)) for p in
                                                         ("history", "baselines", "window", "lifecycle")])
            say(f"| {s['days']} | {key} | {kv} | {dk} |")
    say("")
    say("Measured at load averages " + ", ".join(f"{s['days']} days: {s['load']:.1f}" for s in steps) + ".")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["measure", "report"])
    ap.add_argument("--kvaudit", required=True)
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--bench-dir", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--results", required=True, type=Path)
    ap.add_argument("--compact", type=Path, help="the step's `compact --format json` output")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--lake-desc", default="")
    args = ap.parse_args()
    measure(args) if args.command == "measure" else report(args)


if __name__ == "__main__":
    main()
