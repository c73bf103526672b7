#!/usr/bin/env bash
# Set up Forager (Docker, venv, base image) and harvest verified environments from real
# PyPI projects on the embedded store (SQLite in the user's data folder).
# Usage: scripts/harvest.sh [SOURCE ...]   (default: three projects of the dev corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh docker
if [[ $# -eq 0 ]]; then
  set -- pypi:toposort==1.10 pypi:text-unidecode==1.3 pypi:iniconfig==2.3.1
fi
forager env build "$@"
forager env list
