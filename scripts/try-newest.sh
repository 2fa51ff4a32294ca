#!/usr/bin/env bash
# Try the newest releases: a fresh .venv-newest with the package, both extras and the dev tools, nothing
# pinned (no requirements/ constraints), so the resolver takes the newest Airflow, Dagster, aiohttp, requests
# and the rest that pyproject.toml admits; then the test suite on it. Not part of ./scripts/test.sh: its
# result changes with every release on the package index. Run it before widening the tested table in the
# README, and when a new Airflow or Dagster minor is out (pyproject.toml caps only the next major).
#   ./scripts/try-newest.sh                 the whole suite
#   ./scripts/try-newest.sh tests/airflow   arguments go to pytest
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
dir="$ROOT/.venv-newest"
rm -rf "$dir"
# The newest Python the newest leg runs on (scripts/legs.sh), else python3.
python="$(find_python 3.13 || command -v python3)"
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" 2>/dev/null
VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet --compile-bytecode --refresh --upgrade \
  -e "$ROOT[airflow,dagster]" --group "$ROOT/pyproject.toml:dev" >&2
echo "==> newest releases: $(VIRTUAL_ENV="$dir" "$dir/bin/uv" pip freeze 2>/dev/null \
  | grep -iE '^(apache-airflow|dagster|aiohttp|requests|urllib3)==' | tr '\n' ' ')"
"$dir/bin/python" -m pytest -p no:cacheprovider "$@"
