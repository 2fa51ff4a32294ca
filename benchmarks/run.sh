#!/usr/bin/env bash
# Benchmarks: ./benchmarks/run.sh [--smoke]. Their own venv (benchmarks/.venv) holds the peers measured
# side by side (dbt Cloud's Airflow provider, dagster-fivetran): they are never dependencies of the package.
source "$(dirname "$0")/../scripts/_venv.sh"
LOCK=benchmarks ensure_venv "$ROOT/benchmarks/.venv" requirements/latest.txt requirements/benchmarks.txt
exec "$ROOT/benchmarks/.venv/bin/python" "$ROOT/benchmarks/run_all.py" "$@"
