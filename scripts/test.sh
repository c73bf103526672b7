#!/usr/bin/env bash
# Set up everything the test suite needs (Docker, PostgreSQL, Redis, Chromium, venv, base image),
# then run linters and the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite also runs the sandbox on the oldest supported Python (3.9, bullseye).
export FORAGER_BOOTSTRAP_SUITES="bookworm bullseye"
source scripts/setup.sh docker postgres redis chromium

echo "[test] ruff" >&2
ruff check forager api workers model images tests benchmarks
ruff format --check forager api workers model images tests benchmarks
echo "[test] mypy" >&2
mypy forager api workers model images
echo "[test] pytest" >&2
exec pytest -q -p no:cacheprovider "$@"
