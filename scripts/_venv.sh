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
