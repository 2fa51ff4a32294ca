#!/usr/bin/env bash
# Resolve the locks again: requirements/lock/NAME.txt pins every package of a venv, so that a release on the
# package index changes no leg, no demo and no benchmark until someone resolves, runs the suite and commits.
#   ./scripts/lock.sh                every lock: the legs of scripts/legs.sh, demo and benchmarks
#   ./scripts/lock.sh oldest demo    only these
# Then ./scripts/test.sh (it rebuilds the venvs whose lock changed), ./scripts/demo.sh and
# ./benchmarks/run.sh --smoke. ./scripts/try-newest.sh tries the newest releases without any lock.
source "$(dirname "$0")/_venv.sh"
source "$ROOT/scripts/legs.sh"
cd "$ROOT"

# uv from its own small venv: the resolver is the same whichever leg's venv exists.
tool="$ROOT/.venv-lock"
if ! "$tool/bin/uv" --version >/dev/null 2>&1; then
  "$(find_python 3.11 || command -v python3)" -m venv --clear "$tool"
  "$tool/bin/python" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT"
fi

wanted() {
  [ $# -eq 1 ] || [[ " ${*:2} " == *" $1 "* ]]
}

for line in "${LEGS[@]}"; do
  read -r name _ python constraints extras _ requirements options <<<"$line"
  wanted "$name" "$@" || continue
  [ "$extras" = "-" ] && extras=""
  [ "$requirements" = "-" ] && requirements=""
  echo "==> lock $name" >&2
  LOCK="$name" PYTHON_VERSION="$python" EXTRAS="$extras" INSTALL_OPTIONS="${options:-}" \
    compile_lock "$tool/bin/uv" "$constraints" "$requirements"
done
if wanted demo "$@"; then
  echo "==> lock demo" >&2
  LOCK=demo compile_lock "$tool/bin/uv" requirements/latest.txt
fi
if wanted benchmarks "$@"; then
  echo "==> lock benchmarks" >&2
  # The dbt Cloud provider measured beside ours needs Python 3.11.
  LOCK=benchmarks LOCK_PYTHON_FLOOR=3.11 compile_lock "$tool/bin/uv" requirements/latest.txt requirements/benchmarks.txt
fi
