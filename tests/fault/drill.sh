#!/usr/bin/env bash
# tests/fault/drill.sh - fault drills against tern-service under wrk load, with a private
# Redis and MariaDB (scripts/services.sh, stopped by pid). For each fault (Redis and
# MariaDB killed, frozen with SIGSTOP, made slow) it runs wrk for DURATION seconds:
# healthy for 5 s, the fault for HOLD s, then the backend back. It prints a Markdown
# table (requests, answers by status, socket errors, how long until the first 200 once
# the backend is back, the latency of / meanwhile, pools in use at the end, RSS before
# and after) and exits 1 if tern crashed, hung, did not recover or kept a connection.
#   tests/fault/drill.sh [BUILD_DIR]        (default: build)
# Env: DURATION (25), HOLD (8), CONNS (16), FAULTS ("redis-kill redis-freeze ...").
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
bin=$build/routes/tern-service
DURATION=${DURATION:-25}
HOLD=${HOLD:-8}
CONNS=${CONNS:-16}
FAULTS=${FAULTS:-"redis-kill redis-freeze redis-slow mysql-kill mysql-freeze mysql-slow"}
[ -x "$bin" ] || { echo "drill.sh: no $bin (build first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "drill.sh: wrk is not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/tern-drill-XXXXXX)
tern_pid=""
wrk_pid=""
free_port() { # below Linux's ephemeral range, where outgoing connections take ports
  local p
  while :; do
    p=$(shuf -i 20000-32000 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
  [ -n "$tern_pid" ] && kill "$tern_pid" 2>/dev/null && wait "$tern_pid" 2>/dev/null
  # a frozen backend must be thawed before services.sh can stop it
  for f in "$work/svc/redis.pid" "$work/svc/mysql.pid"; do
    [ -f "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null
  done
  "$root/scripts/services.sh" stop "$work/svc" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export REDIS_PORT MYSQL_PORT
REDIS_PORT=$(free_port)
MYSQL_PORT=$(free_port)
echo "drill: starting Redis :$REDIS_PORT and MariaDB :$MYSQL_PORT in $work/svc" >&2
urls=$("$root/scripts/services.sh" start "$work/svc") || exit 2
eval "$(sed 's/^/export /' <<<"$urls")"
port=$(free_port)
TERN_ACCESS_LOG=off TERN_REQUEST_TIMEOUT_MS=2000 TERN_REDIS_TIMEOUT_MS=1000 \
  TERN_MYSQL_ACQUIRE_TIMEOUT_MS=1000 TERN_MYSQL_QUERY_TIMEOUT_MS=1500 TERN_MYSQL_POOL_MAX=8 \
  "$bin" --host 127.0.0.1 --port "$port" --workers 1 >"$work/tern.log" 2>&1 &
tern_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.1; done
curl -sf -o /dev/null "$base/readyz" || { echo "drill: tern-service not ready" >&2; cat "$work/tern.log" >&2; exit 2; }

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$tern_pid/status" 2>/dev/null || echo "?"; }
pid_of() { cat "$work/svc/$1.pid"; }
restart_backends() { "$root/scripts/services.sh" start "$work/svc" >/dev/null || echo "drill: restart failed" >&2; }
root_sql() { mariadb --no-defaults -uroot --socket="$work/svc/mysql/mysql.sock" hello_world -e "$1"; }

# Seconds until path answers 200 (polling every 50 ms), or "none" after 30 s.
until_200() {
  local t0 t; t0=$(now)
  while :; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base$1")" = 200 ] && break
    t=$(echo "$(now) - $t0" | bc)
    if [ "$(echo "$t > 30" | bc)" = 1 ]; then echo none; return; fi
    sleep 0.05
  done
  printf '%.2f' "$(echo "$(now) - $t0" | bc)"
}

# Slowest of 10 GET / while the fault holds: the routes without a backend keep serving.
others_ms() {
  local worst=0 t
  for _ in $(seq 10); do
    t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "$base/")
    worst=$(echo "if ($t > $worst) $t else $worst" | bc)
    sleep 0.2
  done
  printf '%.0f' "$(echo "$worst * 1000" | bc)"
}

inject() { # fault
  case $1 in
    redis-kill) kill -KILL "$(pid_of redis)" ;;
    redis-freeze) kill -STOP "$(pid_of redis)" ;;
    redis-slow) # every command waits up to 1.5 s, over and over (CLIENT PAUSE)
      ( end=$(( $(date +%s) + HOLD ))
        while [ "$(date +%s)" -lt "$end" ]; do
          redis-cli -p "$REDIS_PORT" CLIENT PAUSE 1500 ALL >/dev/null; sleep 2
        done ) & slow_pid=$! ;;
    mysql-kill) kill -KILL "$(pid_of mysql)" ;;
    mysql-freeze) kill -STOP "$(pid_of mysql)" ;;
    mysql-slow) # every read of world waits behind a write lock held for HOLD s
      root_sql "LOCK TABLES world WRITE; SELECT SLEEP($HOLD); UNLOCK TABLES;" >/dev/null 2>&1 &
      slow_pid=$! ;;
  esac
}

restore() { # fault
  case $1 in
    redis-kill|mysql-kill)
      # kill returns before the process is gone: wait for the pid to vanish, then restart
      for _ in $(seq 100); do kill -0 "$(pid_of "${1%-kill}")" 2>/dev/null || break; sleep 0.1; done
      restart_backends ;;
    redis-freeze) kill -CONT "$(pid_of redis)" ;;
    mysql-freeze) kill -CONT "$(pid_of mysql)" ;;
    redis-slow|mysql-slow) wait "$slow_pid" ;;
  esac
}

# Pools back to nothing in use (abandoned waits finish or time out): up to 10 s.
pools_idle() {
  local j
  for _ in $(seq 100); do
    j=$(curl -s --max-time 2 "$base/readyz")
    if [ "$(echo "$j" | jq '[.pools[] | .in_use + .waiting] | add')" = 0 ]; then
      echo yes; return
    fi
    sleep 0.1
  done
  echo "no: $(echo "$j" | jq -c .pools)"
}

failed=0
rows=()
for fault in $FAULTS; do
  case $fault in redis-*) path=/red ;; *) path=/db ;; esac
  rss0=$(rss_kb)
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$root/tests/fault/status.lua" \
    "$base$path" >"$work/wrk.out" 2>&1 &
  wrk_pid=$!
  sleep 5
  inject "$fault"
  sleep 1
  others=$(others_ms)
  sleep $(( HOLD > 3 ? HOLD - 3 : 0 ))
  restore "$fault"
  recovery=$(until_200 "$path")
  wait "$wrk_pid"
  wrk_pid=""
  alive=yes; kill -0 "$tern_pid" 2>/dev/null || alive=no
  healthz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/healthz")
  idle=$(pools_idle)
  rss1=$(rss_kb)
  line=$(grep '^DRILL' "$work/wrk.out")
  req=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  st=$(sed -n 's/.*statuses=\([^ ]*\).*/\1/p' <<<"$line")
  errs=$(sed -n 's/.*connect=\([0-9]*\) read=\([0-9]*\) write=\([0-9]*\) timeout=\([0-9]*\).*/connect \1, read \2, write \3, timeout \4/p' <<<"$line")
  verdict=ok
  [ "$alive" = yes ] || verdict="CRASHED"
  [ "$healthz" = 200 ] || verdict="$verdict HUNG"
  [ "$recovery" = none ] && verdict="$verdict NO-RECOVERY"
  [ "$idle" = yes ] || verdict="$verdict POOLS-IN-USE ($idle)"
  [ "$verdict" = ok ] || failed=1
  rows+=("| $fault | $path | $req | ${st//,/, } | $errs | $recovery s | $others ms | $idle | $rss0 / $rss1 KiB | $verdict |")
  echo "drill: $fault done: $verdict" >&2
  [ "$alive" = yes ] || break
done

echo "| fault | route | requests | answers by status | socket errors | first 200 after the backend is back | slowest GET / during the fault | pools idle at the end | RSS before / after | verdict |"
echo "| --- | --- | ---: | --- | --- | ---: | ---: | --- | ---: | --- |"
printf '%s\n' "${rows[@]}"
if [ "$failed" != 0 ]; then
  echo "drill: FAILED; tern's log:" >&2
  tail -50 "$work/tern.log" >&2
fi
exit "$failed"
