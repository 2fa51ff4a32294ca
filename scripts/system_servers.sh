#!/usr/bin/env bash
# The PostgreSQL and Redis servers the production-like system tests start (tests/system/servers.py, #18):
# Debian's postgresql and redis-server packages, installed when missing (as root, with apt-get; 5-10 s
# for redis-server, a minute for both on a bare machine). Nothing is started here: each test run starts its
# own throwaway servers on free loopback ports and stops them by PID.
# QATECH_SKIP_SERVER_TESTS=1 skips those tests (pytest then says so in its summary) and installs nothing.
set -euo pipefail
if [ "${QATECH_SKIP_SERVER_TESTS:-0}" != "0" ]; then
  echo "==> production-like system tests skipped (QATECH_SKIP_SERVER_TESTS=$QATECH_SKIP_SERVER_TESTS)" >&2
  exit 0
fi
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null || missing+=(postgresql)
command -v redis-server > /dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "==> installing ${missing[*]} for the production-like system tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq > /dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  echo "missing for the production-like system tests: ${missing[*]} (Debian packages). Install them" \
       "(as root: apt-get install -y ${missing[*]}), or set QATECH_SKIP_SERVER_TESTS=1 to skip those tests." >&2
  exit 1
fi
