"""kvaudit secret-status vs DuckDB on the same lake: time and peak memory, one process per run.

Run through scripts/bench_secret_status.sh, which builds the lake and the release binary and
calls this with the venv's Python (which has duckdb). Measurement as in bench_ingest.py
(whose `run` it reuses): every measured run is its own process; wall time around
start..exit, peak RSS from that child's rusage (os.wait4).

- kvaudit cold: the first `secret-status` after the per-secret access index was deleted
  (`baselines/object_access/` and its entry in `_state/rollups.json`): it rolls every day of
  events up into the index, then answers. Warm: best of N with the index built.
- DuckDB: scripts/bench_secret_status_duckdb.sql with the secret substituted, straight on
  `events/date=*/*.parquet` (no index), through `python -c` (duckdb from PyPI) and the
  `duckdb` CLI when present. "first" is its first run in this script, "warm" the best of N.
- Both answers are compared (last read, readers, reads in the window) and the comparison
  is written into the report.
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
from bench_ingest import best, dir_mb, run, sql_str  # noqa: E402

DUCKDB_RUNNER = """
import duckdb, json, sys
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
out = []
for stmt in open(sys.argv[1]).read().split(';'):
    if stmt.strip():
        cur = con.execute(stmt)
        if stmt.lstrip().upper().startswith("SELECT"):
            out.append([[str(v) for v in row] for row in cur.fetchall()])
print(json.dumps(out))
"""


def drop_index(lake: Path) -> None:
    shutil.rmtree(lake / "baselines" / "object_access", ignore_errors=True)
    state = lake / "_state" / "rollups.json"
    if state.exists():
        doc = json.loads(state.read_text())
        doc.get("rollups", {}).pop("object_access", None)
        state.write_text(json.dumps(doc, indent=2))


def resolve_sql(template: str, **values: str) -> str:
    text = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("--"))
    for k, v in values.items():
        text = text.replace("${" + k + "}", v.replace("'", "''"))
    assert "${" not in text, "unsubstituted parameter in the DuckDB SQL"
    return text


def parse_time(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvaudit", required=True)
    ap.add_argument("--lake", required=True, type=Path)
    ap.add_argument("--bench-dir", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sql", required=True, type=Path)
    ap.add_argument("--lake-desc", default="")
    ap.add_argument("--duckdb-cli")
    args = ap.parse_args()
    import duckdb

    lake, bench, python = args.lake.resolve(), args.bench_dir.resolve(), sys.executable
    kv = str(Path(args.kvaudit).resolve())
    events_glob = f"{lake}/events/date=*/*.parquet"

    def progress(s: str) -> None:
        print(f"  .. {s}", file=sys.stderr, flush=True)

    # --- the lake, and the two secrets (chosen by DuckDB, untimed) ---
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet({sql_str(events_glob)}, hive_partitioning = true)")
    progress("counting events")
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    dates = sorted(p.name[5:] for p in (lake / "events").iterdir() if p.name.startswith("date="))
    files = len(list((lake / "events").glob("date=*/*.parquet")))
    as_of = dt.date.fromisoformat(dates[-1]) + dt.timedelta(days=1)
    as_of_s = f"{as_of.isoformat()}T00:00:00Z"
    window_start_s = f"{(as_of - dt.timedelta(days=30)).isoformat()}T00:00:00Z"
    progress("choosing a busy and an idle secret")
    reads = """
        SELECT vault, lower(object_name) AS secret, count(*) AS reads, max(time) AS last_read
        FROM events WHERE object_type = 'secret' AND operation = 'SecretGet' AND http_status < 400
          AND object_name IS NOT NULL
        GROUP BY 1, 2"""
    busy = con.execute(f"SELECT * FROM ({reads}) ORDER BY reads DESC, vault, secret LIMIT 1").fetchone()
    idle = con.execute(f"SELECT * FROM ({reads}) ORDER BY last_read, reads, vault, secret LIMIT 1").fetchone()
    con.close()
    secrets = {"busy": busy, "idle": idle}
    for tag, (v, s, n, last) in secrets.items():
        progress(f"{tag}: {v}/{s}, {n:,} successful reads, last {last}")

    # --- kvaudit ---
    status = lambda v, s: [kv, "--lake", str(lake), "secret-status", f"{v}/{s}", "--format", "json"]  # noqa: E731
    drop_index(lake)
    progress("kvaudit cold (builds the index)")
    cold = run(status(busy[0], busy[1]))
    index_mb = dir_mb(lake / "baselines" / "object_access")
    index_files = len(list((lake / "baselines" / "object_access").glob("date=*/*.parquet")))
    rows: list[tuple] = [("kvaudit secret-status (busy)", "cold: builds the index", cold)]
    answers = {"busy": json.loads(cold.stdout)}
    for tag, (v, s, _, _) in secrets.items():
        progress(f"kvaudit warm {tag}")
        runs = [run(status(v, s)) for _ in range(args.runs)]
        answers[tag] = json.loads(runs[0].stdout)
        rows.append((f"kvaudit secret-status ({tag})", f"warm, best of {args.runs}", best(runs)))
    progress("kvaudit secrets (warm)")
    lst = [run([kv, "--lake", str(lake), "secrets", "--format", "json"]) for _ in range(args.runs)]
    n_secrets = len(lst[0].stdout.splitlines())
    rows.append(("kvaudit secrets (every secret)", f"warm, best of {args.runs}", best(lst)))

    # --- DuckDB on the same files ---
    template = args.sql.read_text()
    duck: dict[str, list] = {}
    agree: list[str] = []
    for tag, (v, s, _, _) in secrets.items():
        resolved = bench / f"secret_status_duckdb_{tag}.sql"
        resolved.write_text(resolve_sql(template, EVENTS=events_glob, VAULT=v, SECRET=s, AS_OF=as_of_s,
                                        WINDOW_START=window_start_s))
        progress(f"duckdb python {tag}")
        py = [run([python, "-c", DUCKDB_RUNNER, str(resolved)]) for _ in range(args.runs + 1)]
        rows.append((f"DuckDB python ({tag})", "first run", py[0]))
        rows.append((f"DuckDB python ({tag})", f"warm, best of {args.runs}", best(py[1:])))
        duck[tag] = json.loads(py[0].stdout)
        if args.duckdb_cli:
            progress(f"duckdb cli {tag}")
            sql = "SET TimeZone = 'UTC';\n" + resolved.read_text()
            cli = [run([args.duckdb_cli, "-csv", "-c", sql]) for _ in range(args.runs + 1)]
            rows.append((f"DuckDB CLI ({tag})", "first run", cli[0]))
            rows.append((f"DuckDB CLI ({tag})", f"warm, best of {args.runs}", best(cli[1:])))
        # Same answer?
        k, d = answers[tag], duck[tag]
        k_last = k.get("last_read") or {}
        d_last = d[0][0] if d[0] else None
        same_last = bool(d_last) and parse_time(k_last.get("time", "1970-01-01T00:00:00Z")) == parse_time(d_last[0]) \
            and k_last.get("identity_oid") == (None if d_last[1] == "None" else d_last[1]) \
            and k_last.get("version") == (None if d_last[6] == "None" else d_last[6])
        k_reads = sum(r["reads"] for r in k["readers"])
        d_reads = sum(int(r[1]) for r in d[1])
        k_failed = sum(r["failed"] for r in k["readers"])
        d_failed = sum(int(r[2]) for r in d[1])
        agree.append(
            f"- {tag} `{v}/{s}`: verdict `{k['verdict']}`; last read kvaudit {k_last.get('time')} / DuckDB "
            f"{d_last[0] if d_last else None} ({'same time, identity and version' if same_last else 'DIFFERENT'}); "
            f"readers {len(k['readers'])} / {len(d[1])}; reads in window {k_reads:,} / {d_reads:,}; "
            f"failed {k_failed:,} / {d_failed:,}; versions {len(k['versions'])} / {len(d[2])}")

    # --- DuckDB in one long-lived process (no start-up, its caches warm) ---
    warm_inproc = {}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for tag in secrets:
        stmts = [x for x in (bench / f"secret_status_duckdb_{tag}.sql").read_text().split(";") if x.strip()]
        times = []
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            for x in stmts:
                cur = con.execute(x)
                if cur.description:
                    cur.fetchall()
            times.append(time.perf_counter() - t)
        warm_inproc[tag] = min(times[1:])
    con.close()

    # --- report ---
    events_mb, lake_mb = dir_mb(lake / "events"), dir_mb(lake)
    kv_version = run([kv, "--version"]).stdout.strip()
    cli_version = run([args.duckdb_cli, "--version"]).stdout.strip() if args.duckdb_cli else None
    lines: list[str] = []
    say = lambda s="": lines.append(s)  # noqa: E731
    say(f"# secret-status: kvaudit vs DuckDB {duckdb.__version__} ({kv_version}; {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d')})")
    say()
    say(f"Lake: **{events:,} events**, {len(dates)} event dates ({dates[0]} .. {dates[-1]}), {files:,} Parquet "
        f"files, events {events_mb / 1e3:,.2f} GB on disk; whole lake with the access index "
        f"{lake_mb / 1e3:,.2f} GB; index {index_files} files, {index_mb:,.1f} MB. Built by `{args.lake_desc}`.")
    say(f"As of {as_of_s} (end of the newest event date), window 30 days. {n_secrets:,} objects listed by `secrets`.")
    say()
    say("| engine, question | run | wall s | peak RSS MB | DuckDB/kvaudit (same row kind) |")
    say("|---|---|---:|---:|---:|")
    kv_warm = {tag: r for name, kind, r in rows for tag in secrets if name == f"kvaudit secret-status ({tag})" and kind.startswith("warm")}
    for name, kind, r in rows:
        ratio = ""
        m = re.match(r"DuckDB .*\((busy|idle)\)", name)
        if m:
            ratio = f"{r.seconds / kv_warm[m.group(1)].seconds:.1f}x vs kvaudit warm"
        say(f"| {name} | {kind} | {r.seconds:.3f} | {r.peak_rss_mb:.0f} | {ratio} |")
    say()
    for tag in secrets:
        say(f"- DuckDB in one long-lived connection (no process start, best of {args.runs} after one warm-up), "
            f"{tag}: {warm_inproc[tag]:.3f} s")
    duck_first = next(r for name, kind, r in rows if name == "DuckDB python (busy)" and kind == "first run")
    say(f"- kvaudit cold (index built for every date) vs warm busy: {cold.seconds:.2f} s vs "
        f"{kv_warm['busy'].seconds:.3f} s; DuckDB python first run / kvaudit cold, busy: "
        f"{duck_first.seconds / cold.seconds:.2f}x (below 1: the one-off index build is slower than "
        f"DuckDB answering one secret from the events).")
    say()
    say("Same answers:")
    lines.extend(agree)
    say()
    say("Notes:")
    say("- One process per run for both engines, start-up included; wall time around the process, peak RSS "
        "from its rusage (ru_maxrss). The page cache is warm for both (no cache is dropped).")
    say("- kvaudit reads its per-secret access index (`baselines/object_access/date=*/object_access.parquet`, "
        "one per event date); DuckDB reads the events themselves, "
        "`read_parquet('events/date=*/*.parquet', hive_partitioning=true)`, with "
        f"`{args.sql}` (vault, secret, window and as-of substituted).")
    if cli_version:
        say(f"- DuckDB CLI: {cli_version} (PyPI `duckdb-cli`).")
    out = bench / "secret_status.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
