# Sourced by the bench scripts, from the repository root: the work directory BENCH_DIR
# (default ./bench-out, made absolute), the venv VENV in it with DuckDB from PyPI (plus its
# CLI when it installs), a `log` function, and kvaudit built in release. Sets CLI_ARGS (the
# bench helper's --duckdb-cli flag, empty without the CLI) and KVAUDIT.
BENCH_DIR=${BENCH_DIR:-./bench-out}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
VENV=$BENCH_DIR/venv

log() { printf '==> %s\n' "$*" >&2; }

if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    log "creating $VENV with duckdb"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || { echo "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
    "$VENV/bin/python" -m pip install --quiet duckdb
fi
log "duckdb $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
# The DuckDB CLI (PyPI `duckdb-cli`) times DuckDB per process without Python's start-up.
if [ ! -x "$VENV/bin/duckdb" ]; then
    "$VENV/bin/python" -m pip install --quiet duckdb-cli || log "duckdb-cli not installed; skipping the CLI column"
fi
CLI_ARGS=()
if [ -x "$VENV/bin/duckdb" ]; then CLI_ARGS=(--duckdb-cli "$VENV/bin/duckdb"); fi

log "cargo build --release"
cargo build --release --quiet
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
KVAUDIT=$TARGET_DIR/release/kvaudit
[ -x "$KVAUDIT" ] || { echo "no binary at $KVAUDIT" >&2; exit 1; }
