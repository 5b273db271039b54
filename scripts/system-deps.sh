#!/usr/bin/env bash
# System packages the full test suite needs beyond Python: installed from Debian's and npm's registries.
# Idempotent; `make test` runs it when it can install (root, apt-get present), otherwise the tests that
# need a missing piece skip with a loud reason (and fail under CI=true).
set -euo pipefail

need=()
# --- grading sandbox (issue: grading that cannot be gamed) ---
command -v bwrap >/dev/null || need+=(bubblewrap)
# --- PostgreSQL gradebook test ---
command -v pg_ctlcluster >/dev/null || [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
# --- browser tests ---
command -v chromium >/dev/null || need+=(chromium)
# --- JupyterHub class test ---
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# the hub's venv (hub/install.sh) is built on Debian's Python, which every test account can run
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-deps: missing ${need[*]} and cannot install them here (not root or no apt-get); dependent tests will skip" >&2
    exit 0
  fi
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# JupyterHub's proxy comes from the npm registry.
if ! command -v configurable-http-proxy >/dev/null && command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "system-deps: installing configurable-http-proxy"
  npm install -g --silent configurable-http-proxy >/dev/null
fi
