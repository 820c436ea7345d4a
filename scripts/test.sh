#!/usr/bin/env bash
# Lint, check the formatting, type-check, check the import rules and test compatkit; fails if any of them fails.
# Hypothesis runs its bounded `ci` profile unless HYPOTHESIS_PROFILE says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-logo
.venv/bin/pytest "$@"
