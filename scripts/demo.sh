#!/usr/bin/env bash
# Set everything up (first run only) and run the main job against the bundled QA.tech emulator.
# Its own venv: the test legs' .venv has other inputs (Python 3.13, the system tests' servers), and sharing one
# would rebuild it at every switch between the two commands.
source "$(dirname "$0")/_venv.sh"
LOCK=demo ensure_venv "$ROOT/.venv-demo" requirements/latest.txt
exec "$ROOT/.venv-demo/bin/python" "$ROOT/scripts/demo.py" "$@"
