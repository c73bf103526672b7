#!/usr/bin/env bash
# Set up Forager (Docker, venv, base image) and run its main job on the embedded default:
# for real PyPI projects, build verified environments, generate bug-fixing tasks and run the
# scripted explorer policy in them, storing every step in SQLite (the user's data folder).
# Usage: scripts/harvest.sh [SOURCE ...]   (default: three projects of the dev corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh docker
if [[ $# -eq 0 ]]; then
  set -- pypi:toposort==1.10 pypi:text-unidecode==1.3 pypi:iniconfig==2.3.1
fi
forager harvest "$@" --max-tasks 10 --max-task-episodes 3 --explore-episodes 1 --max-steps 20
forager env list
