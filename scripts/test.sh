#!/usr/bin/env bash
# Run the whole test suite: ruff and mypy, then pytest on every leg of the version matrix.
#   Full legs, the whole suite:
#     .venv          newest: Airflow 3.3 and Dagster 1.13 (requirements/latest.txt)
#     .venv-oldest   oldest pyproject.toml allows: Airflow 2.11 and Dagster 1.11 (requirements/oldest.txt)
#   Smoke legs, the Airflow tests that show a minor works (imports, provider and connection test, start,
#   deferred wait, sensor, example DAGs, `airflow dags test`), plus the Dagster tests on the 3.2 leg:
#     .venv-airflow-3.0, .venv-airflow-3.1, .venv-airflow-3.2 (+ Dagster 1.12)  (requirements/airflow-3.*.txt)
#   Floors leg (.venv-floors, issue 19): the lowest versions pyproject.toml admits, on Python 3.10; the core,
#   command-line and triggerer tests (floors_leg in scripts/_venv.sh).
# Arguments go to pytest on the full legs only, e.g. ./scripts/test.sh tests/core -k retry
# QATECH_SMOKE_LEGS="" skips the smoke legs; QATECH_SMOKE_LEGS="3.1" runs one. QATECH_FLOORS_LEG=0 skips the floors.
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
SMOKE_LEGS="${QATECH_SMOKE_LEGS-3.0 3.1 3.2}"
[ $# -gt 0 ] && SMOKE_LEGS=""  # a chosen selection runs on the full legs only
ensure_venv "$ROOT/.venv" requirements/latest.txt requirements/system.txt  # + Celery, Postgres drivers (#18)
"$ROOT/scripts/system_servers.sh"  # PostgreSQL and Redis for the production-like system tests
ensure_venv "$ROOT/.venv-oldest" requirements/oldest.txt
for leg in $SMOKE_LEGS; do
  if [ "$leg" = "3.2" ]; then
    ensure_venv "$ROOT/.venv-airflow-$leg" "requirements/airflow-$leg.txt"
  else
    EXTRAS=airflow ensure_venv "$ROOT/.venv-airflow-$leg" "requirements/airflow-$leg.txt"
  fi
done

versions() {
  "$1/bin/python" - <<'PY' 2>/dev/null | tail -1
from importlib.metadata import PackageNotFoundError, version
found = []
for name in ("apache-airflow", "dagster"):
    try:
        found.append(f"{name.removeprefix('apache-').capitalize()} {version(name)}")
    except PackageNotFoundError:
        pass
print(", ".join(found))
PY
}

echo "==> ruff and mypy"
.venv/bin/ruff check --output-format concise .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
echo "==> pytest: $(versions .venv)"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
echo "==> pytest: $(versions .venv-oldest)"
.venv-oldest/bin/python -m pytest -p no:cacheprovider "$@"
SMOKE_TESTS=(tests/airflow/test_provider.py tests/airflow/test_connection_form.py tests/airflow/test_operators.py
             tests/airflow/test_example_dags.py)
for leg in $SMOKE_LEGS; do
  selection=("${SMOKE_TESTS[@]}")
  [ "$leg" = "3.2" ] && selection+=(tests/dagster)
  echo "==> pytest (smoke): $(versions ".venv-airflow-$leg")"
  ".venv-airflow-$leg/bin/python" -m pytest -p no:cacheprovider "${selection[@]}"
done

# --- floors leg (issue 19): the declared lowest versions work (floors_leg in scripts/_venv.sh) ---
if [ $# -eq 0 ] && [ "${QATECH_FLOORS_LEG:-1}" != "0" ]; then
  floors_leg
fi
