# Sourced by the other scripts: find Python interpreters, and make (once) a virtual environment with the package
# and its test tools.
#   find_python X.Y          prints the path of a working Python X.Y, or fails
#   [LOCK=NAME] [PYTHON_VERSION=X.Y] [EXTRAS=airflow,dagster] [INSTALL_OPTIONS=...] ensure_venv DIR CONSTRAINTS [EXTRA_REQS]
#     EXTRAS defaults to "airflow,dagster"; EXTRAS="" installs the core alone. CONSTRAINTS "-": none.
#     INSTALL_OPTIONS go to `uv pip install` (e.g. --resolution=lowest-direct).
#     Without PYTHON_VERSION an existing ready venv is kept whatever its Python; a new one uses python3.
#     LOCK=NAME installs within requirements/lock/NAME.txt, when it exists: every package pinned.
#   [same variables] compile_lock UV CONSTRAINTS [EXTRA_REQS]
#     resolves what ensure_venv would install, anew, into requirements/lock/$LOCK.txt (./scripts/lock.sh).
# A venv is rebuilt only when what it was built from changed: the Python (its full version), the install
# command, pyproject.toml and the requirement files. That is what the stamp DIR/.qatech-ready records.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The installer every venv gets, pinned like the packages it installs (a new uv may read options anew).
UV_REQUIREMENT="uv==0.13.9"

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

# The dependency group a venv gets: dev adds dagster-dg-cli, dagster-webserver, ruff and mypy (the Dagster
# tests and the linters) wherever Dagster is installed.
venv_group() {
  if [[ "$1" == *dagster* ]]; then echo dev; else echo test; fi
}

lock_file() {
  echo "$ROOT/requirements/lock/$1.txt"
}

ensure_venv() {
  local dir="$1" constraints="$2" extra="${3:-}" extras="${EXTRAS-airflow,dagster}"
  local group lock=""
  group="$(venv_group "$extras")"
  [ -n "${LOCK:-}" ] && [ -f "$(lock_file "$LOCK")" ] && lock="$(lock_file "$LOCK")"
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
  [ -n "$lock" ] && install+=(-c "$lock")
  # shellcheck disable=SC2206  # INSTALL_OPTIONS is a word list on purpose
  install+=(${INSTALL_OPTIONS:-})
  local files=("$ROOT/pyproject.toml")
  [ "$constraints" != "-" ] && files+=("$ROOT/$constraints")
  [ -n "$extra" ] && files+=("$ROOT/$extra")
  [ -n "$lock" ] && files+=("$lock")
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
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" 2>/dev/null
  # --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE, and Airflow imports slowly without .pyc files.
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet --compile-bytecode "${install[@]}" >&2
  echo "$want" > "$stamp"
}

compile_lock() {
  local uv="$1" constraints="$2" extra="${3:-}" extras="${EXTRAS-airflow,dagster}"
  local lock source
  lock="$(lock_file "$LOCK")"
  source="$(mktemp --suffix=.txt)"
  printf -- '-e %s\n' "$ROOT${extras:+[$extras]}" > "$source"
  local args=(pip compile --quiet --no-header --annotation-style line --no-emit-package qatech-orchestration
    "$source" --group "$ROOT/pyproject.toml:$(venv_group "$extras")")
  [ -n "$extra" ] && args+=("$ROOT/$extra")
  [ "$constraints" != "-" ] && args+=(-c "$ROOT/$constraints")
  # A leg has one Python; the demo's and the benchmarks' venvs take python3, whichever the user has (from
  # LOCK_PYTHON_FLOOR, default 3.10, the package's floor).
  if [ -n "${PYTHON_VERSION:-}" ]; then
    args+=(--python-version "$PYTHON_VERSION")
  else
    args+=(--universal --python-version "${LOCK_PYTHON_FLOOR:-3.10}")
  fi
  # shellcheck disable=SC2206  # INSTALL_OPTIONS is a word list on purpose
  args+=(${INSTALL_OPTIONS:-})
  local inputs="pyproject.toml${extras:+ [$extras]} with the $(venv_group "$extras") group"
  [ "$constraints" != "-" ] && inputs+=", $constraints"
  [ -n "$extra" ] && inputs+=", $extra"
  [ -n "${INSTALL_OPTIONS:-}" ] && inputs+=", ${INSTALL_OPTIONS}"
  mkdir -p "$(dirname "$lock")"
  {
    echo "# Lock of $LOCK (Python ${PYTHON_VERSION:-${LOCK_PYTHON_FLOOR:-3.10}+}), written by ./scripts/lock.sh from: $inputs."
    echo "# Edit those inputs, never this file, then run ./scripts/lock.sh $LOCK again."
    VIRTUAL_ENV="" "$uv" "${args[@]}"
  } > "$lock.new" || { rm -f "$lock.new" "$source"; return 1; }
  mv "$lock.new" "$lock"
  rm -f "$source"
}
