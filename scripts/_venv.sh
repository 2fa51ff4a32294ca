# Sourced by the other scripts: make (once) a virtual environment with the package and its test tools.
# usage: [EXTRAS=airflow] ensure_venv DIR CONSTRAINTS_FILE [EXTRA_REQUIREMENTS_FILE]   (EXTRAS: airflow,dagster)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
  local dir="$1" constraints="$2" extra="${3:-}" extras="${EXTRAS:-airflow,dagster}"
  local group=test  # dev adds dagster-dg-cli, ruff and mypy: what the Dagster tests and the linters need
  [[ "$extras" == *dagster* ]] && group=dev
  local stamp="$dir/.qatech-ready"
  local want
  want="$( (echo "$extras"; cat "$ROOT/pyproject.toml" "$ROOT/$constraints" ${extra:+"$ROOT/$extra"}) | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "==> setting up $dir (constraints: $constraints)" >&2
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check uv 2>/dev/null
  # --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE, and Airflow imports slowly without .pyc files.
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet --compile-bytecode \
    -e "$ROOT[$extras]" --group "$ROOT/pyproject.toml:$group" ${extra:+-r "$ROOT/$extra"} \
    -c "$ROOT/$constraints" >&2
  echo "$want" > "$stamp"
}

# --- The floors leg (issue 19): a self-contained block, called by scripts/test.sh ----------------------------
# The lowest versions pyproject.toml admits for every direct dependency (uv's --resolution lowest-direct:
# requests, urllib3, aiohttp, Airflow 2.11.0, the test tools), on the oldest Python the package supports,
# with the [airflow] extra and no Dagster. It runs the core, command-line and triggerer tests. Then it installs
# an urllib3 older than the floor (as another package's pin would leave it) and checks that nothing is sent.
FLOORS_TESTS=(tests/core tests/hostile tests/reliability/test_fault_matrix.py tests/airflow/test_trigger.py
              tests/airflow/test_missing_extra.py)
FLOORS_TOO_OLD_URLLIB3=2.1.0

oldest_python() {  # Python 3.10 where there is one (QATECH_FLOORS_PYTHON overrides), else $PYTHON
  local candidate
  for candidate in "${QATECH_FLOORS_PYTHON:-}" "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.10*/bin/python \
                   "$(command -v python3.10 || true)"; do
    # A pyenv shim exists for every version but runs only the selected ones: ask the candidate itself.
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "==> no Python 3.10 found: the floors leg runs on $("$PYTHON" --version 2>&1)" >&2
  command -v "$PYTHON"
}

floors_leg() {
  local dir="$ROOT/.venv-floors" py want
  py="$(oldest_python)"
  local install=(pip install --quiet --compile-bytecode --resolution lowest-direct -e "$ROOT[airflow]"
                 --group "$ROOT/pyproject.toml:test")
  want="$( ("$py" --version; echo "${install[*]}"; cat "$ROOT/pyproject.toml") | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$dir/.qatech-ready" ] || [ "$(cat "$dir/.qatech-ready")" != "$want" ]; then
    echo "==> setting up $dir (the lowest versions pyproject.toml admits, $("$py" --version 2>&1))" >&2
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check uv 2>/dev/null
    VIRTUAL_ENV="$dir" "$dir/bin/uv" "${install[@]}" >&2
    echo "$want" > "$dir/.qatech-ready"
  fi
  echo "==> pytest (floors): $("$dir/bin/python" --version), $(VIRTUAL_ENV="$dir" "$dir/bin/uv" pip freeze 2>/dev/null \
    | grep -iE '^(requests|urllib3|aiohttp|apache-airflow)==' | tr '\n' ' ')"
  "$dir/bin/python" -m pytest -p no:cacheprovider "${FLOORS_TESTS[@]}"
  echo "==> pytest (floors, urllib3 $FLOORS_TOO_OLD_URLLIB3 forced in): a client that cannot read answers sends nothing"
  rm -f "$dir/.qatech-ready"  # until the floor is back, whatever happens next
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet "urllib3==$FLOORS_TOO_OLD_URLLIB3" >&2
  "$dir/bin/python" -m pytest -p no:cacheprovider -rs tests/core/test_transport_check.py
  VIRTUAL_ENV="$dir" "$dir/bin/uv" "${install[@]}" >&2
  echo "$want" > "$dir/.qatech-ready"
}
