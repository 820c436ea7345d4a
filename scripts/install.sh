#!/usr/bin/env bash
# Installs everything compatkit needs on a fresh machine: a venv with the package and its
# test extras, and Claude Code (npm) for the end-to-end tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix .tools @anthropic-ai/claude-code >/dev/null 2>&1 \
    || echo "install.sh: could not install @anthropic-ai/claude-code; its end-to-end tests will be skipped" >&2
fi
