"""What `kvaudit detect` asks of SQL, asked of DuckDB on the same lake with the same query files.

Run by scripts/bench_scale.py as its own process (so its wall time includes start-up, as
kvaudit's does); prints one JSON object: seconds per phase and rows per query.

- `--mode build`: the full baseline build, as a first `kvaudit detect` on a lake without
  `baselines/` does it: every day of the history window rolled up by
  queries/detect/activity.sql and every day of the lake by queries/lifecycle/object_access.sql,
  each day written as a zstd Parquet file under OUT (as kvaudit writes `baselines/`), then
  the detection below.
- `--mode detect`: one detection window over the rollups `build` left: the history relation
  (rollup days plus the partial day before the window, rolled up on the fly) and the six
  queries/detect/baseline_*.sql, the window's caller events (window_calls.sql) and
  credential findings (secret_in_log.sql), then the access index of every day and the three
  lifecycle queries.

The relations are bound as kvaudit binds them (src/detect/relations.rs): `scope` = caller
events of a range with an `identity` column, service notifications left out; `records` =
every event of a range; `history` / `access` = rollup days plus the partial day. The
built-in first-party allow-list is applied where kvaudit applies it (history and window).
What DuckDB is not asked: kvaudit's statistics, alert store and lifecycle rules, which are
Rust, not SQL. Its figures are therefore the SQL part only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
from pathlib import Path

import duckdb

# src/detect/policy.rs FIRST_PARTY_ALLOW: calls by these app ids with this operation are
# not caller activity.
ALLOW = [("509e4652-da8d-478d-a730-e9d4a1996ca4", "VaultGet"), ("8cae6e77-e04e-42ce-b5cb-50d82bce26b1", "VaultGet")]
ALLOWED = "coalesce(" + " OR ".join(f"(identity_appid = '{a}' AND operation IN ('{o}'))" for a, o in ALLOW) + ", false)"
BASELINES = ["hourly", "identities", "objects", "addresses", "operations", "active_hours"]
LIFECYCLE = ["vault_coverage", "object_history", "vault_operations"]


def ts(t: dt.datetime) -> str:
    return f"TIMESTAMPTZ '{t.strftime('%Y-%m-%d %H:%M:%S')}+00'"


class Lake:
    def __init__(self, lake: Path, out: Path, queries: Path) -> None:
        self.lake, self.out, self.queries = lake, out, queries
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        glob = f"{lake}/events/date=*/*.parquet"
        self.con.execute(f"CREATE VIEW events AS SELECT * EXCLUDE (date) FROM read_parquet('{glob}', hive_partitioning = true)")
        self.rows: dict[str, int] = {}

    def sql(self, group: str, name: str) -> str:
        text = (self.queries / group / f"{name}.sql").read_text()
        # The two dialect differences in these files: DataFusion's ordered aggregates
        # `first_value(x ORDER BY t)` / `last_value(...)` are DuckDB's `first` / `last`
        # (DuckDB's first_value is a window function only), and DataFusion's
        # `date_bin(interval, t)` is DuckDB's `time_bucket(interval, t)`.
        text = re.sub(r"\b(first|last)_value\(", r"\1(", text)
        return re.sub(r"\bdate_bin\(", "time_bucket(", text)

    def bind_scope(self, start: dt.datetime, end: dt.datetime, allow: bool) -> None:
        allowed = ALLOWED if allow else "false"
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW scope AS SELECT *, "
            "coalesce(identity_oid, identity_appid, 'ip:' || caller_ip, 'unknown') AS identity FROM events "
            f"WHERE time >= {ts(start)} AND time < {ts(end)} AND operation NOT LIKE '%EventGridNotification' "
            f"AND NOT {allowed}")

    def bind_records(self, start: dt.datetime, end: dt.datetime) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW records AS SELECT * FROM events "
                         f"WHERE time >= {ts(start)} AND time < {ts(end)}")

    def roll_up_day(self, rollup: str, day: dt.date) -> None:
        start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
        self.bind_scope(start, start + dt.timedelta(days=1), allow=False)
        self.bind_records(start, start + dt.timedelta(days=1))
        target = self.out / rollup / f"date={day.isoformat()}"
        target.mkdir(parents=True, exist_ok=True)
        query = self.sql("detect", "activity") if rollup == "activity" else self.sql("lifecycle", "object_access")
        self.con.execute(f"COPY ({query}) TO '{target}/{rollup}.parquet' (FORMAT parquet, COMPRESSION zstd)")

    def bind_rollup(self, rollup: str, relation: str, start: dt.datetime, end: dt.datetime, clip: str) -> None:
        """`relation` = the rollup's days in [start, end) plus the partial day before `end`, in memory."""
        day_start = dt.datetime.combine(end.date(), dt.time(), dt.timezone.utc)
        self.bind_scope(max(day_start, start), end, allow=False)
        self.bind_records(max(day_start, start), end)
        query = self.sql("detect", "activity") if rollup == "activity" else self.sql("lifecycle", "object_access")
        days = f"read_parquet('{self.out}/{rollup}/date=*/*.parquet', hive_partitioning = true)"
        self.con.execute(
            f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM ("
            f"SELECT * EXCLUDE (date) FROM {days} WHERE date >= '{start.date()}' AND date < '{day_start.date()}' "
            f"UNION ALL ({query})) WHERE {clip}")
        self.rows[relation] = self.con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]

    def collect(self, group: str, name: str) -> None:
        """Runs a query into a table: its result held in memory, as kvaudit collects one."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE result_{name} AS {self.sql(group, name)}")
        self.rows[name] = self.con.execute(f"SELECT count(*) FROM result_{name}").fetchone()[0]


def lake_dates(lake: Path) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(p.name[5:]) for p in (lake / "events").iterdir() if p.name.startswith("date="))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--queries", required=True, type=Path)
    ap.add_argument("--mode", required=True, choices=["build", "detect"])
    ap.add_argument("--from", dest="start", required=True)
    ap.add_argument("--to", dest="end", required=True)
    ap.add_argument("--history-days", type=int, default=30)
    args = ap.parse_args()
    parse = lambda s: dt.datetime.fromisoformat(re.sub("Z$", "+00:00", s))  # noqa: E731
    start, end = parse(args.start), parse(args.end)
    history_start = start - dt.timedelta(days=args.history_days)
    lake = Lake(args.lake.resolve(), args.out.resolve(), args.queries.resolve())
    dates = lake_dates(lake.lake)
    phases: dict[str, float] = {}
    t = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        phases[name] = round(now - t, 3)
        t = now

    if args.mode == "build":
        for day in dates:
            if history_start.date() <= day < start.date():
                lake.roll_up_day("activity", day)
        phase("activity_rollups")
        for day in dates:
            if day < end.date():
                lake.roll_up_day("object_access", day)
        phase("object_access_rollups")
    clip = f"hour >= {ts(history_start)} AND NOT {ALLOWED}"
    lake.bind_rollup("activity", "history", history_start, start, clip)
    phase("history")
    for name in BASELINES:
        lake.collect("detect", f"baseline_{name}")
    phase("baselines")
    lake.bind_scope(start, end, allow=True)
    lake.collect("detect", "window_calls")
    lake.bind_records(start, end)
    lake.collect("detect", "secret_in_log")
    phase("window")
    first = dt.datetime.combine(dates[0], dt.time(), dt.timezone.utc)
    lake.bind_rollup("object_access", "access", first, end, f"last_time >= {ts(first)}")
    for name in LIFECYCLE:
        lake.collect("lifecycle", name)
    phase("lifecycle")
    print(json.dumps({"phases": phases, "rows": lake.rows}))


if __name__ == "__main__":
    main()
