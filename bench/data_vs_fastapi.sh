#!/usr/bin/env bash
# bench/data_vs_fastapi.sh - tern vs FastAPI + uvicorn + uvloop on the routes that use
# Redis and MySQL, in the same run: starts a private Redis and MariaDB on loopback
# (scripts/services.sh), both services with one worker and the same pool size, and
# runs bench/compare.sh over them. Everything it starts, it stops.
#   PATHS="/db /red /mysql" ROUNDS=5 DURATION=8s CONNECTIONS=64 OUT=file bench/data_vs_fastapi.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scratch=$(mktemp -d /tmp/tern-bench-data-XXXXXX)
cleanup() { "$root/scripts/services.sh" stop "$scratch/services" >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT

"$root/scripts/deps.sh"
[ -f build-release/build.ninja ] || meson setup build-release -Dbuildtype=release >/dev/null
ninja -C build-release >/dev/null

while IFS='=' read -r k v; do export "$k=$v"; done < <(REDIS_PORT=${REDIS_PORT:-26379} \
  MYSQL_PORT=${MYSQL_PORT:-23306} "$root/scripts/services.sh" start "$scratch/services")
export POOL_MAX=${POOL_MAX:-10} TERN_MYSQL_POOL_MAX=${POOL_MAX:-10} TERN_MYSQL_POOL_MIN=${POOL_MAX:-10}

export PATHS=${PATHS:-"/db /red /mysql"} CONNECTIONS=${CONNECTIONS:-64}
bench/compare.sh \
  "tern=8291=build-release/routes/tern-service --host 127.0.0.1 --port 8291 --access_log off" \
  "fastapi=8292=bench/fastapi/run.sh 8292 1"
