#!/usr/bin/env bash
# scripts/services.sh - start or stop a private redis-server and mariadbd on loopback,
# in a scratch folder, loaded with the TechEmpower schema (db/tfb_create.sql).
# They are stopped by pid, never by name, so nothing else on the machine is touched.
#   services.sh start DIR   -> prints TERN_REDIS_URL=... and TERN_MYSQL_URL=... lines
#   services.sh stop DIR
# Ports: REDIS_PORT (default 16379) and MYSQL_PORT (default 13306). MYSQLD_OPTS: extra
# mariadbd options, split on spaces (bench/run.sh tunes the server with it).
set -euo pipefail
cmd=${1:?usage: services.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: services.sh start|stop DIR}")
root=$(cd "$(dirname "$0")/.." && pwd)
REDIS_PORT=${REDIS_PORT:-16379}
MYSQL_PORT=${MYSQL_PORT:-13306}

stop_pid() { # pidfile
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

wait_for() { # what command...
  local what=$1; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services.sh: $what did not come up; see $dir/*.log" >&2
  return 1
}

case "$cmd" in
start)
  # a tmpdir of its own: temp tables in a shared /tmp collide with other servers' cleanups
  mkdir -p "$dir/redis" "$dir/mysql" "$dir/tmp"
  if ! { [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; }; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir/redis" --save '' \
      --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    wait_for redis redis-cli -p "$REDIS_PORT" ping
  fi
  if ! { [ -f "$dir/mysql.pid" ] && kill -0 "$(cat "$dir/mysql.pid")" 2>/dev/null; }; then
    MYSQLD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
    user_opt=(); [ "$(id -u)" = 0 ] && user_opt=(--user=root)
    read -r -a extra_opts <<< "${MYSQLD_OPTS:-}"
    if [ ! -d "$dir/mysql/data/mysql" ]; then
      mariadb-install-db --no-defaults --datadir="$dir/mysql/data" --tmpdir="$dir/tmp" "${user_opt[@]}" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/mysql-install.log" 2>&1
      fresh=1
    fi
    "$MYSQLD" --no-defaults --datadir="$dir/mysql/data" --socket="$dir/mysql/mysql.sock" \
      --pid-file="$dir/mysql.pid" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
      --skip-name-resolve --innodb-buffer-pool-size=128M --max-connections=1000 --tmpdir="$dir/tmp" \
      --log-error="$dir/mysql.log" "${user_opt[@]}" "${extra_opts[@]}" >/dev/null 2>&1 &
    wait_for mariadb mariadb --no-defaults -uroot --socket="$dir/mysql/mysql.sock" -e 'SELECT 1'
    if [ "${fresh:-0}" = 1 ]; then
      mariadb --no-defaults -uroot --socket="$dir/mysql/mysql.sock" < "$root/db/tfb_create.sql"
      mariadb --no-defaults -uroot --socket="$dir/mysql/mysql.sock" < "$root/db/tern_schema.sql"
    fi
  fi
  echo "TERN_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "TERN_MYSQL_URL=mysql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:$MYSQL_PORT/hello_world"
  ;;
stop)
  stop_pid "$dir/redis.pid"
  stop_pid "$dir/mysql.pid"
  ;;
*) echo "usage: services.sh start|stop DIR" >&2; exit 2 ;;
esac
