#!/usr/bin/env bash
# Run the whole test suite: ruff and mypy, then pytest on every leg of the matrix below. The one command that
# runs everything; .ci/run calls it.
#
#   ./scripts/test.sh                         every leg (each venv is built once, and again only when its
#                                             Python, pyproject.toml or requirement files change)
#   ./scripts/test.sh tests/core -k retry     arguments go to pytest, on the full legs only, in one pass
#   QATECH_PYTHONS="3.11 3.13" ./scripts/test.sh    only the legs on these Pythons (the summary says so)
#   QATECH_LEGS="newest core-3.11" ./scripts/test.sh  only these legs (likewise)
#   QATECH_WORKERS=1 ./scripts/test.sh        no parallel workers (default: one per core, pytest-xdist)
#   QATECH_TEST_TIMEOUT_SCALE=3 ...           every deadline in the tests x3 (default 1, 2 under CI=true)
#
# Each leg without arguments runs in two passes: everything but the system tests with pytest-xdist (tests are
# independent: each worker has its own emulators, free ports, AIRFLOW_HOME and DAGSTER_HOME), then the system
# tests (marker `system`) alone in one process, since they share one deployment per session and start several
# components each: on 2 cores they get the machine to themselves.
#
# To add a leg, add a line to LEGS in scripts/legs.sh and run ./scripts/lock.sh NAME (and, for a new set of
# tests, add an entry to SELECTIONS). A leg that needs a service started first can define a function
# `before_leg_<name with - and . as _>`, called before its pytest (with the script's arguments);
# `after_leg_<name>` runs after it.
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"

source "$ROOT/scripts/legs.sh"  # LEGS: the matrix, shared with ./scripts/lock.sh
# The Airflow tests that show a minor works: imports, provider and connection test, start, deferred wait,
# sensor, example DAGs, `airflow dags test`, run summaries, assets and lineage, the pytest plugin's fixtures.
SMOKE="tests/airflow/test_provider.py tests/airflow/test_connection_form.py tests/airflow/test_operators.py
       tests/airflow/test_example_dags.py tests/airflow/test_run_summary.py tests/airflow/test_signals.py
       tests/plugin"
declare -A SELECTIONS=(
  [all]="tests"
  [smoke]="$SMOKE"
  [smoke+dagster]="$SMOKE tests/dagster"
  # The core and the command line, without Airflow or Dagster installed (their tests skip themselves).
  [core]="tests/core tests/hostile tests/reliability tests/plugin"
  [dagster-only]="tests/plugin tests/dagster/test_examples.py tests/core/test_extras.py"
  # The core, the command line, the triggerer and the pytest plugin (the [airflow] extra alone) on the floors.
  [floors]="tests/core tests/hostile tests/reliability/test_fault_matrix.py tests/airflow/test_trigger.py
            tests/airflow/test_missing_extra.py tests/plugin"
)

# The servers of the production-like system tests (PostgreSQL, Redis; #18), installed when missing.
before_leg_newest() {
  "$ROOT/scripts/system_servers.sh"
}

# Then a urllib3 older than the floor (as another package's pin would leave it): a client that cannot read
# answers sends nothing (#19). The floor is put back, whatever happened.
FLOORS_TOO_OLD_URLLIB3=2.1.0
after_leg_floors() {
  local dir="$ROOT/.venv-floors" stamp
  stamp="$(cat "$dir/.qatech-ready")"
  rm -f "$dir/.qatech-ready"  # until the floor is back
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet "urllib3==$FLOORS_TOO_OLD_URLLIB3" >&2
  run "floors: urllib3 $FLOORS_TOO_OLD_URLLIB3 forced in, nothing sent" \
    "$dir/bin/python" -m pytest -p no:cacheprovider -rs tests/core/test_transport_check.py
  VIRTUAL_ENV="$dir" "$dir/bin/uv" pip install --quiet --resolution lowest-direct "urllib3>=2.2" >&2
  echo "$stamp" > "$dir/.qatech-ready"
}

WORKERS="${QATECH_WORKERS:-$(nproc)}"
NARROWED=()
selected=()
for line in "${LEGS[@]}"; do
  read -r name _ python _ <<<"$line"
  if [ -n "${QATECH_LEGS+set}" ] && [[ " $QATECH_LEGS " != *" $name "* ]]; then
    NARROWED+=("$name (not in QATECH_LEGS)")
  elif [ -n "${QATECH_PYTHONS+set}" ] && [[ " $QATECH_PYTHONS " != *" $python "* ]]; then
    NARROWED+=("$name (Python $python not in QATECH_PYTHONS)")
  elif [ $# -gt 0 ] && [ "$(echo "$line" | awk '{print $6}')" != all ]; then
    NARROWED+=("$name (arguments run on the full legs only)")
  else
    selected+=("$line")
  fi
done

if [ ${#selected[@]} -eq 0 ]; then
  echo "error: no leg left to run; left out: ${NARROWED[*]}" >&2
  exit 2
fi

# Every interpreter first, so that a missing one fails at once and by name.
missing=()
for line in "${selected[@]}"; do
  read -r name _ python _ <<<"$line"
  find_python "$python" >/dev/null || missing+=("Python $python (leg $name)")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: not found: ${missing[*]}." >&2
  echo "  Looked for \$(pyenv root)/versions/X.Y.*/bin/python, python3.X and python3 on PATH." >&2
  echo "  Install it (e.g. pyenv install X.Y), or narrow the matrix: QATECH_PYTHONS=\"3.11 3.13\" $0" >&2
  exit 2
fi

began_venvs=$SECONDS
for line in "${selected[@]}"; do
  read -r name dir python constraints extras _ requirements options <<<"$line"
  [ "$extras" = "-" ] && extras=""
  [ "$requirements" = "-" ] && requirements=""
  LOCK="$name" PYTHON_VERSION="$python" EXTRAS="$extras" INSTALL_OPTIONS="${options:-}" \
    ensure_venv "$ROOT/$dir" "$constraints" "$requirements"
done
VENVS_TOOK=$((SECONDS - began_venvs))

versions() {
  "$1/bin/python" - <<'PY' 2>/dev/null | tail -1
import platform
from importlib.metadata import PackageNotFoundError, version
found = [f"Python {platform.python_version()}"]
for name in ("apache-airflow", "dagster"):
    try:
        found.append(f"{name.removeprefix('apache-').capitalize()} {version(name)}")
    except PackageNotFoundError:
        pass
print(", ".join(found))
PY
}

SUMMARY=()
FAILED=0
CHILD=""
INTERRUPTED=""
# A signal to this script reaches the pytest it runs, and that pytest's workers, as SIGTERM, which the suite
# turns into a clean stop (each test's finally and fixture stops what it started), whether or not the caller
# signalled the whole process group. (Background commands of a script start with SIGINT ignored.)
on_signal() {
  INTERRUPTED="$1"
  if [ -n "$CHILD" ]; then
    # shellcheck disable=SC2046  # a list of PIDs
    kill -TERM "$CHILD" $(ps -o pid= --ppid "$CHILD" 2>/dev/null) 2>/dev/null || true
  fi
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

summary() {
  echo
  echo "==> summary (venvs ready in ${VENVS_TOOK} s, then $((SECONDS - started)) s of checks and tests; $(nproc) cores)"
  printf '  %s\n' "${SUMMARY[@]}"
  if [ ${#NARROWED[@]} -gt 0 ]; then
    echo "  NARROWED: the matrix ran without: ${NARROWED[*]}"
  fi
}

# run LABEL COMMAND...: run, time, and record one step; a failure does not stop the other legs.
run() {
  local label="$1" began status
  shift
  began=$SECONDS
  set +e
  "$@" &
  CHILD=$!
  wait "$CHILD"
  status=$?
  while kill -0 "$CHILD" 2>/dev/null; do  # a trapped signal interrupted the wait: wait for the real end
    wait "$CHILD"
    status=$?
  done
  CHILD=""
  set -e
  # pytest's exit code 5 is "no tests collected": a pass whose selection holds no test of its kind.
  local verdict=ok
  if [ $status -eq 5 ]; then verdict="no tests"; elif [ $status -ne 0 ]; then verdict="FAILED ($status)"; FAILED=1; fi
  SUMMARY+=("$(printf '%-58s %-12s %5ss' "$label" "$verdict" $((SECONDS - began)))")
  if [ -n "$INTERRUPTED" ]; then
    SUMMARY+=("interrupted")
    summary
    exit "$INTERRUPTED"
  fi
}

started=$SECONDS
# ruff runs from the first selected venv that has the dev group (the newest leg's, unless narrowed); mypy
# from the newest leg's only, the one venv with every package the code imports (OpenLineage included).
lint="" typecheck=""
for line in "${selected[@]}"; do
  read -r name dir _ <<<"$line"
  if [ -z "$lint" ] && [ -x "$dir/bin/ruff" ]; then lint="$dir"; fi
  if [ "$name" = newest ]; then typecheck="$dir"; fi
done
if [ -n "$lint" ]; then
  echo "==> ruff ($lint)"
  run "ruff check" "$lint/bin/ruff" check --output-format concise .
  run "ruff format --check" "$lint/bin/ruff" format --check --quiet .
else
  NARROWED+=("ruff (no leg with the dev group selected)")
fi
if [ -n "$typecheck" ]; then
  run "mypy (python_version 3.10, pyproject.toml)" "$typecheck/bin/mypy"
else
  NARROWED+=("mypy (runs with the newest leg)")
fi

xdist=()
[ "$WORKERS" -gt 1 ] && xdist=(-n "$WORKERS")
for line in "${selected[@]}"; do
  read -r name dir _ _ _ selection _ <<<"$line"
  hook="before_leg_${name//[-.]/_}"
  if declare -F "$hook" >/dev/null; then "$hook" "$@"; fi
  py="$dir/bin/python"
  label="$name: $(versions "$dir")"
  if [ $# -gt 0 ]; then
    echo "==> pytest $label"
    run "$label" "$py" -m pytest -p no:cacheprovider "$@"
    continue
  fi
  # shellcheck disable=SC2206  # a selection is a word list
  tests=(${SELECTIONS[$selection]})
  echo "==> pytest $label: ${tests[*]} (not system, ${WORKERS} workers)"
  run "$label" "$py" -m pytest -p no:cacheprovider "${xdist[@]}" -m "not system" "${tests[@]}"
  if [[ " ${tests[*]} " == *" tests "* || " ${tests[*]} " == *" tests/system"* ]]; then
    echo "==> pytest $label: system tests"
    run "$name: system tests" "$py" -m pytest -p no:cacheprovider -m system "${tests[@]}"
  fi
  hook="after_leg_${name//[-.]/_}"
  if declare -F "$hook" >/dev/null; then "$hook"; fi
done

summary
exit $FAILED
