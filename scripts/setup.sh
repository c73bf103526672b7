#!/usr/bin/env bash
# Set up Forager on this machine: Python venv with the project, local services, base image.
# Idempotent. Usage: scripts/setup.sh [services...]   (default services: docker)
# Prints `export ...` lines for the environment the other scripts use.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Python 3.11+ with venv (Debian: python3 + python3-venv).
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing python3 and python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-dev git >/dev/null
    PY=python3
  fi
  "$PY" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null \
    || { echo "[setup] ERROR: need Python >= 3.11 with venv (apt-get install python3 python3-venv)" >&2; exit 1; }
fi
command -v git >/dev/null || { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq git >/dev/null; }

scripts/services.sh "${@:-docker}"

if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.forager-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  log "installing forager and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

# Trust this machine's extra CA certificates inside images (TLS-intercepting egress).
if [[ -z ${FORAGER_CA_CERTS:-} ]]; then
  certs=$(find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort | paste -sd: -)
  [[ -n $certs ]] && export FORAGER_CA_CERTS=$certs
fi
export PATH="$PWD/.venv/bin:$PATH"

log "base images"
forager images bootstrap ${FORAGER_BOOTSTRAP_SUITES:-bookworm}
