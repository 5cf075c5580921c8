"""kvaudit vs DuckDB: ingest throughput, peak memory and query latency.

Run through scripts/bench_ingest.sh, which prepares the venv (with duckdb), the release
build and the generated inputs, then calls this with the venv's Python. Standard library
only, apart from duckdb in the measured subprocesses.

How things are measured (see also the notes written into results.md):
- every measured run is its own process, started with subprocess.Popen and reaped with
  os.wait4, which returns that one child's rusage: wall time is time.perf_counter around
  start..exit, peak memory is the child's ru_maxrss (peak RSS, KiB on Linux);
- DuckDB runs as `python -c "import duckdb; ..."` so that, like `kvaudit`, each run pays
  process start; the cost of `python -c "import duckdb"` alone is measured and reported;
- input files are read once before the ingest runs so that both engines read from the
  page cache; MB are 10^6 bytes of input (the PT1H.json blobs), as kvaudit reports them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CONTAINER = "insights-logs-auditevent"


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str
    cpu_seconds: float = 0.0
    stderr: str = ""


def run(cmd: list[str], cwd: Path | None = None, check: bool = True) -> Run:
    """Runs one process; returns its wall time, its own peak RSS and its stdout."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}.out"
    with open(out_path, "w+b") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        # Drain stderr (small) before wait4 so a chatty child cannot block on a full pipe.
        err = proc.stderr.read() if proc.stderr else b""
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    out_path.unlink(missing_ok=True)
    if check and proc.returncode != 0:
        sys.stderr.write(err.decode("utf-8", "replace"))
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)[:300]}")
    return Run(seconds, usage.ru_maxrss / 1024.0, stdout, usage.ru_utime + usage.ru_stime,
               err.decode("utf-8", "replace"))


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.seconds)


def input_stats(input_dir: Path) -> tuple[int, int]:
    files = list((input_dir / CONTAINER).rglob("PT1H.json"))
    return len(files), sum(f.stat().st_size for f in files)


def warm_page_cache(input_dir: Path) -> None:
    buf = bytearray(1 << 20)
    for f in (input_dir / CONTAINER).rglob("PT1H.json"):
        with open(f, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


# --- DuckDB ingest ---------------------------------------------------------------------

# The fields the `events` table holds, typed as kvaudit types them. `durationMs` is a JSON
# string in real logs ("30"); DuckDB casts it to BIGINT. Claims are listed in both of Key
# Vault's vocabularies (short token names and claim URIs), as kvaudit reads them.
TYPED_COLUMNS = """{
  'time': 'TIMESTAMPTZ', 'resourceId': 'VARCHAR', 'operationName': 'VARCHAR',
  'operationVersion': 'VARCHAR', 'resultType': 'VARCHAR', 'resultSignature': 'VARCHAR',
  'resultDescription': 'VARCHAR', 'durationMs': 'BIGINT', 'callerIpAddress': 'VARCHAR',
  'correlationId': 'VARCHAR',
  'identity': 'STRUCT(claim STRUCT(oid VARCHAR,
      "http://schemas.microsoft.com/identity/claims/objectidentifier" VARCHAR,
      appid VARCHAR, azp VARCHAR, upn VARCHAR,
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn" VARCHAR,
      unique_name VARCHAR,
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" VARCHAR,
      idtyp VARCHAR, xms_mirid VARCHAR, appidacr VARCHAR, scp VARCHAR))',
  'properties': 'STRUCT(id VARCHAR, clientInfo VARCHAR, httpStatusCode INTEGER,
      requestUri VARCHAR, isAccessPolicyMatch BOOLEAN, isRbacAuthorized BOOLEAN,
      tlsVersion VARCHAR)'
}"""

# The same normalization kvaudit does, in SQL: vault / subscription / resource group out of
# the upper-case resourceId, object type / name / version out of properties.id, the caller
# out of the claims. Close to kvaudit's rules (not every edge case), same amount of work.
TYPED_SELECT = """
SELECT
  "time" AS time,
  lower(split_part(resourceId, '/', 9)) AS vault,
  lower(split_part(resourceId, '/', 3)) AS subscription_id,
  lower(split_part(resourceId, '/', 5)) AS resource_group,
  CASE WHEN upper(split_part(resourceId, '/', 8)) = 'MANAGEDHSMS' THEN 'managed_hsm' ELSE 'vault' END
    AS resource_type,
  operationName AS operation,
  operationVersion AS operation_version,
  CASE lower(split_part(properties.id, '/', 4))
    WHEN 'secrets' THEN 'secret' WHEN 'deletedsecrets' THEN 'secret'
    WHEN 'keys' THEN 'key' WHEN 'deletedkeys' THEN 'key'
    WHEN 'certificates' THEN 'certificate' WHEN 'deletedcertificates' THEN 'certificate'
  END AS object_type,
  nullif(split_part(split_part(properties.id, '?', 1), '/', 5), '') AS object_name,
  nullif(split_part(split_part(properties.id, '?', 1), '/', 6), '') AS object_version,
  properties.httpStatusCode AS http_status,
  resultSignature AS result_signature,
  resultType AS result_type,
  resultDescription AS result_description,
  durationMs AS duration_ms,
  callerIpAddress AS caller_ip,
  coalesce(identity.claim.oid,
           identity.claim."http://schemas.microsoft.com/identity/claims/objectidentifier") AS identity_oid,
  coalesce(identity.claim.appid, identity.claim.azp) AS identity_appid,
  coalesce(identity.claim.upn,
           identity.claim."http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
           identity.claim.unique_name,
           identity.claim."http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name") AS identity_upn,
  CASE
    WHEN identity.claim.xms_mirid IS NOT NULL THEN 'managed_identity'
    WHEN coalesce(identity.claim.upn, identity.claim.unique_name) IS NOT NULL
      OR lower(identity.claim.idtyp) = 'user' OR identity.claim.scp IS NOT NULL THEN 'user'
    WHEN lower(identity.claim.idtyp) = 'app' OR identity.claim.appidacr IN ('1', '2')
      THEN 'service_principal'
    ELSE 'unknown'
  END AS identity_type,
  identity.claim.xms_mirid AS managed_identity_resource,
  properties.clientInfo AS client_info,
  properties.requestUri AS request_uri,
  correlationId AS correlation_id,
  properties.tlsVersion AS tls_version,
  properties.isAccessPolicyMatch AS is_access_policy_match,
  properties.isRbacAuthorized AS is_rbac_authorized,
  filename AS source
FROM read_json('{glob}', format = 'newline_delimited', hive_partitioning = false,
               filename = true, columns = {columns})
"""

# Closest to what kvaudit writes: the typed fields plus the record as it was (`raw`).
# (kvaudit also redacts credentials and fills `redactions`; none of the DuckDB variants does.)
# read_json cannot hand out the source text of a record, so this reads each line as a JSON
# object and extracts every field with one multi-path json_extract_string per record.
RAW_PATHS = [
    "$.time", "$.resourceId", "$.operationName", "$.operationVersion", "$.resultType",
    "$.resultSignature", "$.resultDescription", "$.durationMs", "$.callerIpAddress",
    "$.correlationId", "$.identity.claim.oid", "$.identity.claim.appid",
    "$.identity.claim.upn", "$.identity.claim.idtyp", "$.identity.claim.xms_mirid",
    "$.properties.id", "$.properties.clientInfo", "$.properties.httpStatusCode",
    "$.properties.requestUri", "$.properties.isAccessPolicyMatch",
    "$.properties.isRbacAuthorized", "$.properties.tlsVersion",
]
RAW_SELECT = """
SELECT
  f[1]::TIMESTAMPTZ AS time,
  lower(split_part(f[2], '/', 9)) AS vault,
  lower(split_part(f[2], '/', 3)) AS subscription_id,
  lower(split_part(f[2], '/', 5)) AS resource_group,
  f[3] AS operation, f[4] AS operation_version, f[5] AS result_type, f[6] AS result_signature,
  f[7] AS result_description, TRY_CAST(f[8] AS BIGINT) AS duration_ms, f[9] AS caller_ip,
  f[10] AS correlation_id, f[11] AS identity_oid, f[12] AS identity_appid,
  f[13] AS identity_upn,
  CASE WHEN f[15] IS NOT NULL THEN 'managed_identity' WHEN f[13] IS NOT NULL THEN 'user'
       WHEN f[14] = 'app' THEN 'service_principal' ELSE 'unknown' END AS identity_type,
  f[15] AS managed_identity_resource,
  nullif(split_part(f[16], '/', 5), '') AS object_name,
  nullif(split_part(f[16], '/', 6), '') AS object_version,
  f[17] AS client_info, TRY_CAST(f[18] AS INTEGER) AS http_status, f[19] AS request_uri,
  TRY_CAST(f[20] AS BOOLEAN) AS is_access_policy_match,
  TRY_CAST(f[21] AS BOOLEAN) AS is_rbac_authorized, f[22] AS tls_version,
  filename AS source, raw
FROM (
  SELECT json::VARCHAR AS raw, filename, json_extract_string(json, {paths}) AS f
  FROM read_ndjson_objects('{glob}', hive_partitioning = false, filename = true)
)
"""

AUTO_SELECT = """
SELECT * FROM read_json('{glob}', format = 'newline_delimited', hive_partitioning = false)
"""

DUCKDB_VARIANTS = {
    # name: (description, SELECT template)
    "typed": ("read_json, explicit typed columns + normalization SQL, no raw", TYPED_SELECT),
    "auto": ("read_json auto-detect, all fields as detected, no normalization, no raw", AUTO_SELECT),
    "raw": ("read_ndjson_objects + json_extract_string, typed fields + raw line", RAW_SELECT),
}


def duckdb_copy_sql(variant: str, input_dir: Path, out_file: Path) -> str:
    glob = f"{input_dir / CONTAINER}/**/PT1H.json"
    select = DUCKDB_VARIANTS[variant][1].format(
        glob=glob, columns=TYPED_COLUMNS, paths="[" + ", ".join(f"'{p}'" for p in RAW_PATHS) + "]"
    )
    return f"COPY ({select}) TO '{out_file}' (FORMAT parquet, COMPRESSION zstd)"


def duckdb_cmd(python: str, code: str, *args: str) -> list[str]:
    return [python, "-c", code, *args]


DUCKDB_EXEC = "import duckdb, sys; duckdb.connect().execute(open(sys.argv[1]).read())"


def ingest_duckdb(python: str, bench: Path, variant: str, input_dir: Path, tag: str) -> tuple[Run, float]:
    out_dir = bench / f"duckdb-{variant}-{tag}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    sql_file = bench / f"duckdb-{variant}.sql"
    sql_file.write_text(duckdb_copy_sql(variant, input_dir, out_dir / "events.parquet"))
    # cwd = bench dir: an in-memory DuckDB spills to ./.tmp if it must.
    r = run(duckdb_cmd(python, DUCKDB_EXEC, str(sql_file)), cwd=bench)
    return r, dir_mb(out_dir)


def ingest_kvaudit(kvaudit: str, bench: Path, input_dir: Path, tag: str, workers: int | None) -> tuple[Run, dict, float]:
    lake = bench / f"lake-{tag}" if tag != "1x" else bench / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    cmd = [kvaudit, "--lake", str(lake), "ingest", "--from", str(input_dir / CONTAINER),
           "--format", "json", "--no-progress"]
    if workers:
        cmd += ["--workers", str(workers)]
    r = run(cmd)
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    return r, summary, dir_mb(lake / "events")


# --- queries ---------------------------------------------------------------------------

# The same text runs on both engines. `time` is a UTC timestamp in both (Timestamp(us, UTC)
# in kvaudit, TIMESTAMPTZ in DuckDB); the bounds are ISO strings both cast implicitly.
QUERIES = {
    "events per vault": """
        SELECT vault, count(*) AS events FROM events GROUP BY vault ORDER BY events DESC, vault""",
    "identities, 3-day range": """
        SELECT identity_oid, count(*) AS events, count(DISTINCT vault) AS vaults FROM events
        WHERE time >= '{t0}' AND time < '{t1}'
        GROUP BY identity_oid ORDER BY events DESC, identity_oid""",
    "403s per vault/operation": """
        SELECT vault, operation, count(*) AS denied FROM events WHERE http_status = 403
        GROUP BY vault, operation ORDER BY denied DESC, vault, operation""",
    "secret readers": """
        SELECT vault, object_name AS secret, identity_oid, count(*) AS reads,
               count(DISTINCT object_version) AS versions, max(time) AS last_read
        FROM events
        WHERE operation = 'SecretGet' AND http_status = 200 AND object_name IS NOT NULL
        GROUP BY vault, object_name, identity_oid ORDER BY vault, secret, reads DESC, identity_oid""",
}

DUCKDB_QUERY = """
import duckdb, sys
con = duckdb.connect()
con.execute("CREATE VIEW events AS SELECT * FROM read_parquet('%s', hive_partitioning = true)" % sys.argv[1].replace("'", "''"))
print(len(con.execute(sys.argv[2]).fetchall()))
"""


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def create_events_view(con, lake: Path) -> None:
    glob = sql_str(f"{lake}/events/*/*.parquet")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet({glob}, hive_partitioning = true)")


def duckdb_warm_times(lake: Path, queries: dict[str, str], runs: int) -> dict[str, float]:
    import duckdb  # the venv's; only the in-process warm numbers need it here

    con = duckdb.connect()
    create_events_view(con, lake)
    out = {}
    for name, sql in queries.items():
        times = []
        for _ in range(runs + 1):  # first run warms
            t = time.perf_counter()
            con.execute(sql).fetchall()
            times.append(time.perf_counter() - t)
        out[name] = min(times[1:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvaudit", required=True)
    ap.add_argument("--bench-dir", required=True, type=Path)
    ap.add_argument("--ingest-runs", type=int, default=int(os.environ.get("INGEST_RUNS", "3")))
    ap.add_argument("--query-runs", type=int, default=int(os.environ.get("QUERY_RUNS", "3")))
    ap.add_argument("--variants", default=os.environ.get("DUCKDB_VARIANTS", "typed,auto,raw"))
    ap.add_argument("--input-desc", default="kvaudit generate --days 30 --scale 1.32 --seed 7")
    ap.add_argument("--skip-3x", action="store_true", default=os.environ.get("SKIP_3X") == "1")
    ap.add_argument("--duckdb-cli", help="the DuckDB CLI binary (PyPI duckdb-cli), for per-query processes")
    args = ap.parse_args()
    bench: Path = args.bench_dir.resolve()
    python = sys.executable
    kvaudit = str(Path(args.kvaudit).resolve())
    variants = [v for v in args.variants.split(",") if v]
    import duckdb

    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    def progress(s: str) -> None:
        print(f"  .. {s}", file=sys.stderr, flush=True)

    inputs = {"1x": bench / "input", "3x": bench / "input-3x"}
    if args.skip_3x or not (inputs["3x"] / CONTAINER).is_dir():
        inputs.pop("3x")

    kv_version = run([kvaudit, "--version"]).stdout.strip()
    cpu = os.cpu_count()
    cli_version = run([args.duckdb_cli, "--version"]).stdout.strip() if args.duckdb_cli else None
    baseline = best([run(duckdb_cmd(python, "import duckdb; duckdb.connect()")) for _ in range(3)])

    # --- ingest, 1x: rounds interleave the engines, the best round of each counts ---
    inp = inputs["1x"]
    nfiles, nbytes = input_stats(inp)
    mb = nbytes / 1e6
    progress(f"warming page cache ({mb:.0f} MB)")
    warm_page_cache(inp)
    engines = [("kv", None)] + [("dd", v) for v in variants] + [("kv1", None)]
    results: dict[tuple, list] = {e: [] for e in engines}
    for round_ in range(1, args.ingest_runs + 1):
        for kind, v in engines:
            progress(f"ingest round {round_}/{args.ingest_runs}: "
                     + {"kv": "kvaudit", "kv1": "kvaudit --workers 1", "dd": f"duckdb {v}"}[kind])
            if kind == "kv":
                r, summary, out_mb = ingest_kvaudit(kvaudit, bench, inp, "1x", None)
            elif kind == "kv1":
                r, summary, out_mb = ingest_kvaudit(kvaudit, bench, inp, "w1", 1)
            else:
                r, out_mb = ingest_duckdb(python, bench, v, inp, "1x")
            results[(kind, v)].append((r, out_mb))
    shutil.rmtree(bench / "lake-w1", ignore_errors=True)
    pick = lambda e: min(results[e], key=lambda x: x[0].seconds)  # noqa: E731
    kv, kv_out = pick(("kv", None))
    kv1, kv1_out = pick(("kv1", None))
    dd_results = {v: pick(("dd", v)) for v in variants}
    lake = bench / "lake"
    con = duckdb.connect()

    def parquet_shape(glob: str) -> tuple[int, int]:
        g = sql_str(glob)
        rows = con.execute(f"SELECT count(*) FROM read_parquet({g})").fetchone()[0]
        cols = len(con.execute(f"DESCRIBE SELECT * FROM read_parquet({g}, hive_partitioning = false)").fetchall())
        return rows, cols

    ingest_rows = [
        (f"kvaudit ({cpu} workers)", kv, kv_out, parquet_shape(f"{lake}/events/*/*.parquet")),
        ("kvaudit (--workers 1)", kv1, kv1_out, None),
    ]
    for v in variants:
        r, out_mb = dd_results[v]
        ingest_rows.append((f"DuckDB {v}", r, out_mb, parquet_shape(f"{bench}/duckdb-{v}-1x/*.parquet")))
    records = ingest_rows[0][3][0]

    # --- memory vs input size ---
    dd_typed = dd_results["typed"][0] if "typed" in dd_results else None
    mem_rows = [("1x", mb, kv.peak_rss_mb, dd_typed.peak_rss_mb if dd_typed else None,
                 kv.seconds, dd_typed.seconds if dd_typed else None)]
    if "3x" in inputs:
        inp3 = inputs["3x"]
        _, nbytes3 = input_stats(inp3)
        progress(f"warming page cache ({nbytes3 / 1e6:.0f} MB)")
        warm_page_cache(inp3)
        progress("kvaudit ingest 3x")
        kv3, _, _ = ingest_kvaudit(kvaudit, bench, inp3, "3x", None)
        shutil.rmtree(bench / "lake-3x", ignore_errors=True)
        dd3 = None
        if "typed" in variants:
            progress("duckdb ingest 3x (typed)")
            dd3, _ = ingest_duckdb(python, bench, "typed", inp3, "3x")
            shutil.rmtree(bench / "duckdb-typed-3x", ignore_errors=True)
        mem_rows.append(("3x", nbytes3 / 1e6, kv3.peak_rss_mb, dd3.peak_rss_mb if dd3 else None,
                         kv3.seconds, dd3.seconds if dd3 else None))

    # --- queries over the kvaudit lake ---
    create_events_view(con, lake)
    tmin = con.execute("SELECT min(time) FROM events").fetchone()[0]
    day0 = tmin.date()
    import datetime as dt
    t0 = (day0 + dt.timedelta(days=10)).isoformat() + "T00:00:00Z"
    t1 = (day0 + dt.timedelta(days=13)).isoformat() + "T00:00:00Z"
    con.close()
    queries = {k: " ".join(v.format(t0=t0, t1=t1).split()) for k, v in QUERIES.items()}
    parquet_glob = f"{lake}/events/*/*.parquet"
    query_rows = []
    for name, sql in queries.items():
        progress(f"query: {name}")
        kq = [run([kvaudit, "--lake", str(lake), "query", sql, "--format", "csv"]) for _ in range(args.query_runs)]
        dq = [run(duckdb_cmd(python, DUCKDB_QUERY, parquet_glob, sql)) for _ in range(args.query_runs)]
        k_rows = max(len(kq[0].stdout.strip().splitlines()) - 1, 0)
        d_rows = int(dq[0].stdout.strip())
        cli = None
        if args.duckdb_cli:
            view = f"CREATE VIEW events AS SELECT * FROM read_parquet({sql_str(parquet_glob)}, hive_partitioning = true)"
            cq = [run([args.duckdb_cli, "-csv", "-c", f"{view}; {sql};"]) for _ in range(args.query_runs)]
            cli = best(cq)
            c_rows = max(len(cq[0].stdout.strip().splitlines()) - 1, 0)
            if c_rows != d_rows:
                progress(f"WARNING: DuckDB CLI returned {c_rows} rows, python {d_rows}")
        query_rows.append((name, best(kq), best(dq), cli, k_rows, d_rows))
    warm = duckdb_warm_times(lake, queries, args.query_runs)

    # --- report ---
    say(f"# kvaudit vs DuckDB {duckdb.__version__} ({kv_version}; {cpu} cores; "
        f"{time.strftime('%Y-%m-%d')})")
    say()
    say(f"Input: {records:,} records, {mb:,.1f} MB in {nfiles:,} PT1H.json blobs "
        f"(`{args.input_desc}`), page cache warm.")
    say()
    say("## Ingest (JSON Lines → zstd Parquet)")
    say()
    say("| engine | wall s | MB/s | CPU s (user+sys) | peak RSS MB | output MB | rows, columns written |")
    say("|---|---:|---:|---:|---:|---:|---|")
    for name, r, out_mb, shape in ingest_rows:
        shape_s = f"{shape[0]:,}, {shape[1]}" if shape else "same"
        say(f"| {name} | {r.seconds:.2f} | {mb / r.seconds:.1f} | {r.cpu_seconds:.2f} | {r.peak_rss_mb:.0f} | {out_mb:.0f} | {shape_s} |")
    say()
    for v in variants:
        r = dd_results[v][0]
        say(f"- kvaudit/DuckDB {v} throughput ratio: **{r.seconds / kv.seconds:.2f}x**"
            f" (DuckDB {v}: {DUCKDB_VARIANTS[v][0]})")
    say(f"- kvaudit scaling, {cpu} workers vs 1: {kv1.seconds / kv.seconds:.2f}x")
    say()
    say("## Peak memory vs input size (one run each)")
    say()
    say("| input | MB | kvaudit peak RSS MB | DuckDB typed peak RSS MB | kvaudit s (MB/s) | DuckDB typed s (MB/s) |")
    say("|---|---:|---:|---:|---:|---:|")
    f = lambda x, fmt: "-" if x is None else format(x, fmt)  # noqa: E731
    for tag, m, kr, dr, ks, ds in mem_rows:
        dd_s = f"{ds:.2f} ({m / ds:.0f})" if ds else "-"
        say(f"| {tag} | {m:,.0f} | {kr:.0f} | {f(dr, '.0f')} | {ks:.2f} ({m / ks:.0f}) | {dd_s} |")
    say()
    say(f"## Queries over the kvaudit lake (best of {args.query_runs})")
    say()
    say("| query | kvaudit s | DuckDB CLI s | CLI/kvaudit | DuckDB python -c s | python/kvaudit "
        "| DuckDB in-process warm s | rows (kvaudit / DuckDB) |")
    say("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, k, d, c, kr, dr in query_rows:
        cli_s = f"{c.seconds:.3f} | {c.seconds / k.seconds:.2f}x" if c else "- | -"
        say(f"| {name} | {k.seconds:.3f} | {cli_s} | {d.seconds:.3f} | {d.seconds / k.seconds:.2f}x | "
            f"{warm[name]:.3f} | {kr} / {dr} |")
    say()
    say("Notes:")
    say(f"- Each measured run is one process; wall time and that process's peak RSS "
        f"(ru_maxrss from wait4). DuckDB runs as `python -c 'import duckdb; ...'`: start + "
        f"`import duckdb` alone costs {baseline.seconds:.2f} s and {baseline.peak_rss_mb:.0f} MB RSS, "
        f"included in its numbers, as process start is in kvaudit's.")
    say(f"- Ingest: best of {args.ingest_runs}; fresh lake / output each run; both engines use all "
        f"{cpu} cores (kvaudit workers = cores, DuckDB threads = cores). kvaudit writes date "
        f"partitions, checkpoints and the `raw` column; DuckDB writes one file.")
    say("- DuckDB typed: `read_json(format='newline_delimited', columns={...})` with the types of "
        "the `events` table, normalization (vault, object, caller) in SQL, no `raw`. "
        "auto: `read_json` auto-detection, fields written as detected (nested), no normalization. "
        "raw: `read_ndjson_objects` + one multi-path `json_extract_string` per record, typed "
        "fields plus the raw line (closest to kvaudit's output).")
    say(f"- Queries: same SQL text on both; DuckDB reads the kvaudit lake with "
        f"`read_parquet('lake/events/*/*.parquet', hive_partitioning=true)`; time range "
        f"{t0} .. {t1}. Ratios are DuckDB time / kvaudit time (above 1: kvaudit faster). "
        f"kvaudit, DuckDB CLI and python -c columns are one process per query, start included "
        f"(kvaudit prints CSV, the CLI prints CSV, python fetches all rows); the warm column is "
        f"one long-lived DuckDB connection, no process start, after one warm-up run.")
    if cli_version:
        say(f"- DuckDB CLI: {cli_version} (PyPI `duckdb-cli`; its release lags the `duckdb` "
            f"Python package used for ingest).")
    (bench / "results.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {bench / 'results.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
