#!/usr/bin/env bash
# Run the whole test suite: ruff and mypy, then pytest on both legs of the version matrix:
#   .venv         newest Airflow 3.3 and Dagster 1.13 (requirements/latest.txt)
#   .venv-oldest  Airflow 2.11 and Dagster 1.11, the oldest pyproject.toml allows (requirements/oldest.txt)
# Arguments go to pytest on both legs, e.g. ./scripts/test.sh tests/core -k retry
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ensure_venv "$ROOT/.venv" requirements/latest.txt
ensure_venv "$ROOT/.venv-oldest" requirements/oldest.txt
echo "==> ruff and mypy"
.venv/bin/ruff check --output-format concise .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
echo "==> pytest: Airflow $(.venv/bin/python -c 'import airflow; print(airflow.__version__)' 2>/dev/null | tail -1), Dagster $(.venv/bin/python -c 'import dagster; print(dagster.__version__)')"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
echo "==> pytest: Airflow $(.venv-oldest/bin/python -c 'import airflow; print(airflow.__version__)' 2>/dev/null | tail -1), Dagster $(.venv-oldest/bin/python -c 'import dagster; print(dagster.__version__)')"
.venv-oldest/bin/python -m pytest -p no:cacheprovider "$@"
