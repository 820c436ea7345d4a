#!/usr/bin/env bash
# Installs everything compatkit needs on a fresh machine: Debian's chromium (browser tests) and
# redis-server (the shared store's tests), a venv with the package and its test extras, and
# Claude Code (npm) for the end-to-end tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=()
command -v chromium >/dev/null 2>&1 || debian_packages+=(chromium)
command -v redis-server >/dev/null 2>&1 || debian_packages+=(redis-server)
if [ ${#debian_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${debian_packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix .tools @anthropic-ai/claude-code >/dev/null 2>&1 \
    || echo "install.sh: could not install @anthropic-ai/claude-code; its end-to-end tests will be skipped" >&2
fi
