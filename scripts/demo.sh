#!/usr/bin/env bash
# Set everything up (first run only) and run the main job against the bundled QA.tech emulator.
source "$(dirname "$0")/_venv.sh"
ensure_venv "$ROOT/.venv" requirements/latest.txt
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" "$@"
