#!/usr/bin/env bash
# scripts/run.sh - set everything up and run tern-service on a fresh Debian 12 machine:
# installs the packages, builds a release, starts a private Redis and MariaDB (loaded
# with the TechEmpower schema) on loopback when TERN_REDIS_URL / TERN_MYSQL_URL are not
# set, then runs the service in the foreground until Ctrl-C / SIGTERM.
# Extra arguments go to tern-service (e.g. --port 9000 --workers 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/deps.sh"

if [ ! -f build-release/build.ninja ]; then
  meson setup build-release -Dbuildtype=release -Dtests=false -Dbench=false >/dev/null
fi
ninja -C build-release >/dev/null

scratch="$root/.scratch/services"
started=0
if [ -z "${TERN_REDIS_URL:-}" ] || [ -z "${TERN_MYSQL_URL:-}" ]; then
  echo "run.sh: no TERN_REDIS_URL/TERN_MYSQL_URL given: starting local Redis and MariaDB in $scratch" >&2
  while IFS='=' read -r k v; do
    [ -z "${!k:-}" ] && export "$k=$v"
  done < <("$root/scripts/services.sh" start "$scratch")
  started=1
fi
stop_services() { [ "$started" = 1 ] && "$root/scripts/services.sh" stop "$scratch"; }
trap stop_services EXIT

# The service forwards SIGINT/SIGTERM into a graceful drain; wait for it, then stop
# the local services.
build-release/routes/tern-service "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
wait "$pid" || true
wait "$pid" 2>/dev/null || true
