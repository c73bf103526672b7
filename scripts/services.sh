#!/usr/bin/env bash
# Make sure Forager's local services run: a Docker engine, PostgreSQL and Redis; and, for the
# dashboard's browser tests, a headless Chromium with its WebDriver.
# Idempotent: installs Debian packages only when missing (as root), starts what is
# stopped, waits until each answers, and exits non-zero with a clear message otherwise.
#
# Usage: scripts/services.sh [docker] [postgres] [redis] [chromium]   (default: the first three)
# Env:   FORAGER_PG_USER / FORAGER_PG_PASSWORD / FORAGER_PG_DB for the role and database
#        it creates (defaults: forager / forager / forager).
set -euo pipefail

want=("$@")
[[ ${#want[@]} -eq 0 ]] && want=(docker postgres redis)

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

apt_updated=0
ensure_pkgs() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "packages missing (${missing[*]}) and not root: install them with apt-get"
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"; apt-get update -qq || die "apt-get update failed"; apt_updated=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local secs=$1 what=$2; shift 2
  for ((i = 0; i < secs * 4; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

start_docker() {
  ensure_pkgs docker.io debootstrap ca-certificates
  if docker info >/dev/null 2>&1; then log "docker: running"; return 0; fi
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "docker: starting dockerd"
    mkdir -p /var/log
    nohup dockerd >/var/log/forager-dockerd.log 2>&1 &
  fi
  wait_for 60 docker docker info || die "Docker engine did not answer within 60 s; see /var/log/forager-dockerd.log"
  log "docker: running ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
}

start_postgres() {
  ensure_pkgs postgresql
  local user=${FORAGER_PG_USER:-forager} pass=${FORAGER_PG_PASSWORD:-forager} db=${FORAGER_PG_DB:-forager}
  if ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
    local ver cluster
    ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
    cluster=$(pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1==v {print $2; exit}')
    if [[ -z $cluster ]]; then log "postgres: creating cluster $ver/main"; pg_createcluster "$ver" main >/dev/null; cluster=main; fi
    log "postgres: starting cluster $ver/$cluster"
    pg_ctlcluster "$ver" "$cluster" start || true
  fi
  wait_for 60 postgres pg_isready -q -h 127.0.0.1 || die "PostgreSQL did not answer on 127.0.0.1:5432 within 60 s"
  # Role and database for Forager (idempotent).
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$user'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE $user LOGIN SUPERUSER PASSWORD '$pass'\"" >/dev/null
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"" | grep -q 1 \
    || su postgres -c "createdb -O $user $db"
  log "postgres: running (postgresql+psycopg://$user:***@127.0.0.1:5432/$db)"
}

start_redis() {
  ensure_pkgs redis-server
  if ! redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG; then
    log "redis: starting redis-server"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --appendonly yes \
      --dir /var/lib/redis --logfile /var/log/forager-redis.log >/dev/null || true
  fi
  wait_for 30 redis sh -c 'redis-cli -h 127.0.0.1 ping | grep -q PONG' || die "Redis did not answer on 127.0.0.1:6379 within 30 s"
  log "redis: running"
}

start_chromium() {
  # Debian's chromium and its matching chromedriver: nothing is downloaded at test time.
  ensure_pkgs chromium chromium-driver fonts-dejavu-core
  chromium --headless=new --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 \
    || die "chromium does not start headless (chromium --headless=new --dump-dom about:blank)"
  log "chromium: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version | cut -d' ' -f1-2)"
}

for s in "${want[@]}"; do
  case $s in
    docker) start_docker ;;
    postgres) start_postgres ;;
    redis) start_redis ;;
    chromium) start_chromium ;;
    *) die "unknown service '$s' (docker, postgres, redis, chromium)" ;;
  esac
done
