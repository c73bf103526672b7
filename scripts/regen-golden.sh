#!/usr/bin/env bash
# Rewrite the golden trajectories (tests/agent/golden/*.json) from real replays; review the
# diff before committing it. Needs what the test suite needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh docker postgres >/dev/null
FORAGER_REGEN_GOLDEN=1 pytest -q -p no:cacheprovider tests/agent/test_golden.py "$@"
git --no-pager diff --stat -- tests/agent/golden
