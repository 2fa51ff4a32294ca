# Sourced by the other scripts: find Python interpreters, and make (once) a virtual environment with the package
# and its test tools.
#   find_python X.Y          prints the path of a working Python X.Y, or fails
#   [PYTHON_VERSION=X.Y] [EXTRAS=airflow,dagster] [INSTALL_OPTIONS=...] ensure_venv DIR CONSTRAINTS [EXTRA_REQS]
#     EXTRAS defaults to "airflow,dagster"; EXTRAS="" installs the core alone. CONSTRAINTS "-": none.
#     INSTALL_OPTIONS go to `uv pip install` (e.g. --resolution=lowest-direct).
#     Without PYTHON_VERSION an existing ready venv is kept whatever its Python; a new one uses python3.
# A venv is rebuilt only when what it was built from changed: the Python (its full version), the install
# command, pyproject.toml and the requirement files. That is what the stamp DIR/.qatech-ready records.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Where a Python X.Y may be: pyenv's versions (newest patch first), then python3.X and python3 on PATH. Each
# candidate is run: pyenv's `python3.X` shim exists even when it answers only with PYENV_VERSION set.
python_candidates() {
  local want="$1"
  if command -v pyenv >/dev/null 2>&1; then
    local root
    root="$(pyenv root)"
    ls -d "$root/versions/$want".*/bin/python 2>/dev/null | sort -rV || true
  fi
  command -v "python$want" || true
  command -v python3 || true
}

find_python() {
  local want="$1" candidate
  while IFS= read -r candidate; do
    [ -n "$candidate" ] || continue
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      echo "$candidate"
      return 0
    fi
  done < <(python_candidates "$want")
  return 1
}

ensure_venv() {
  local dir="$1" constraints="$2" extra="${3:-}" extras="${EXTRAS-airflow,dagster}"
  local group=test  # dev adds dagster-dg-cli, dagster-webserver, ruff and mypy: the Dagster tests and linters
  [[ "$extras" == *dagster* ]] && group=dev
  local python
  if [ -n "${PYTHON_VERSION:-}" ]; then
    python="$(find_python "$PYTHON_VERSION")" || {
      echo "error: no Python $PYTHON_VERSION found for $dir (looked in pyenv's versions and for python$PYTHON_VERSION)" >&2
      return 1
    }
  elif [ -f "$dir/.qatech-ready" ] && python="$("$dir/bin/python" -c 'import sys; print(sys._base_executable)' 2>/dev/null)"; then
    :  # the interpreter the venv was made from (not the venv's own, which a rebuild clears)
  else
    python="python3"
  fi
  local spec="$ROOT${extras:+[$extras]}"
  local install=(-e "$spec" --group "$ROOT/pyproject.toml:$group")
  [ -n "$extra" ] && install+=(-r "$ROOT/$extra")
  [ "$constraints" != "-" ] && install+=(-c "$ROOT/$constraints")
  # shellcheck disable=SC2206  # INSTALL_OPTIONS is a word list on purpose
  install+=(${INSTALL_OPTIONS:-})
  local files=("$ROOT/pyproject.toml")
  [ "$constraints" != "-" ] && files+=("$ROOT/$constraints")
  [ -n "$extra" ] && files+=("$ROOT/$extra")
  local stamp="$dir/.qatech-ready" want
  want="$( (
    "$python" -c 'import platform; print(platform.python_implementation(), platform.python_version())'
    echo "uv pip install --compile-bytecode ${install[*]}"
    cat "${files[@]}"
  ) | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$dir/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  echo "==> setting up $dir ($("$python" --version 2>&1); constraints: $constraints${extras:+; extras: $extras})" >&2
  rm -f "$stamp"
  "$python" -m venv --clear "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check uv 2>/dev/null
  # --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE, and Airflow imports slowly without .pyc files.
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet --compile-bytecode "${install[@]}" >&2
  echo "$want" > "$stamp"
}
