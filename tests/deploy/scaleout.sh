#!/usr/bin/env bash
# tests/deploy/scaleout.sh [BUILD_DIR] - horizontal scale and fail-over: two tern-service
# replicas (one worker each) behind haproxy, sharing one private Redis and one private
# MariaDB. wrk loads /db and /json through haproxy for 20 s; replica A is SIGKILLed at
# ~5 s and restarted, replica B is SIGKILLed at ~12 s and restarted. haproxy's health
# checks (GET /healthz) take a dead replica out, `retry-on` + `option redispatch` send
# what was in flight on it to the other, so clients see no failure.
# Loopback only; everything started here is stopped by pid. About 40 s.
# Ends with "N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
bin=$build/routes/tern-service
DURATION=${DURATION:-20}
CONNS=${CONNS:-16}   # per wrk (one on /db, one on /json)
# RETRY_ON=none shows what clients would see without haproxy's retries
RETRY_ON=${RETRY_ON:-conn-failure empty-response junk-response response-timeout}

passed=0 failed=0
check() { # name condition-exit-status [detail]
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "FAIL - $1${3:+: $3}"; fi
}
finish() { echo "${passed} passed, ${failed} failed"; [ "$failed" -eq 0 ]; exit $?; }

for tool in haproxy wrk redis-server mariadbd curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { check "$tool installed (scripts/deps.sh)" 1; finish; }
done
[ -x "$bin" ] || { check "tern-service built in $build" 1; finish; }

scratch=$(mktemp -d /tmp/tern-scaleout-XXXXXX)
pids=() rport=0 mport=0
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  REDIS_PORT=$rport MYSQL_PORT=$mport "$root/scripts/services.sh" stop "$scratch/svc" >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT

# A loopback port nobody listens on (SO_REUSEPORT would let two servers share one).
used=" $(ss -Htln | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ') "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [[ $used == *" $p "* ]] || { used+="$p "; echo "$p"; return; }
  done
}
rport=$(free_port) mport=$(free_port) pa=$(free_port) pb=$(free_port) ph=$(free_port) ps=$(free_port)

# ---- backends ----------------------------------------------------------------------
if ! urls=$(REDIS_PORT=$rport MYSQL_PORT=$mport timeout 120 "$root/scripts/services.sh" start "$scratch/svc" 2>"$scratch/services.err"); then
  check "private Redis and MariaDB start" 1 "$(tail -3 "$scratch/services.err")"; finish
fi
check "private Redis and MariaDB start" 0
eval "export $(echo "$urls" | tr '\n' ' ')"

# ---- replicas ----------------------------------------------------------------------
declare -A rpid rport_of=([a]=$pa [b]=$pb)
start_replica() { # a|b
  TERN_WORKERS=1 TERN_ACCESS_LOG=off TERN_DRAIN_TIMEOUT_MS=2000 \
    "$bin" --host 127.0.0.1 --port "${rport_of[$1]}" >>"$scratch/$1.log" 2>&1 &
  rpid[$1]=$!
  pids+=("$!")
}
ready() { # a|b  -> 0 once /readyz answers 200 (both pools up), within 10 s
  for _ in $(seq 100); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${rport_of[$1]}/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
start_replica a; start_replica b
ready a && ready b; check "two replicas ready (/readyz 200)" $? "$(tail -n 3 "$scratch"/a.log "$scratch"/b.log)"

# ---- haproxy -------------------------------------------------------------------------
cat >"$scratch/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode http
  timeout connect 500ms
  timeout client 30s
  timeout server 10s
  timeout check 500ms
  # a request whose replica died (refused, reset, nothing answered) goes to the other
  retries 3
  option redispatch 1
  retry-on $RETRY_ON
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$ph
  default_backend tern
backend tern
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 300ms fastinter 100ms downinter 300ms fall 1 rise 2
  server a 127.0.0.1:$pa check
  server b 127.0.0.1:$pb check
listen stats
  bind 127.0.0.1:$ps
  stats enable
  stats uri /stats
EOF
haproxy -f "$scratch/haproxy.cfg" -db >"$scratch/haproxy.log" 2>&1 &
pids+=("$!")
# server status "a,UP" / "b,DOWN" from haproxy's CSV statistics
status_of() { curl -fsS --max-time 1 "http://127.0.0.1:$ps/stats;csv" 2>/dev/null | awk -F, -v s="$1" '$1=="tern" && $2==s {print $18}'; }
for _ in $(seq 50); do [ "$(status_of a)" = UP ] && [ "$(status_of b)" = UP ] && break; sleep 0.1; done
ok=1; [ "$(status_of a)" = UP ] && [ "$(status_of b)" = UP ] && ok=0
check "haproxy sees both replicas up" $ok "a=$(status_of a) b=$(status_of b) $(tail -n 3 "$scratch/haproxy.log")"

# ---- load, with the kills ----------------------------------------------------------------
wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$ph/db" >"$scratch/wrk-db.txt" 2>&1 &
wdb=$!; pids+=("$wdb")
wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$ph/json" >"$scratch/wrk-json.txt" 2>&1 &
wjs=$!; pids+=("$wjs")
t0=$(date +%s.%N)
at() { # sleeps until $1 s after the load started
  sleep "$(awk -v a="$1" -v n="$(date +%s.%N)" -v t="$t0" 'BEGIN { d = a - (n - t); print (d > 0 ? d : 0) }')"
}

back_in_rotation() { # a|b -> 0 once haproxy marks it UP again, within 5 s
  for _ in $(seq 50); do [ "$(status_of "$1")" = UP ] && return 0; sleep 0.1; done
  return 1
}
at 5;  kill -9 "${rpid[a]}"; wait "${rpid[a]}" 2>/dev/null
at 6;  start_replica a
ready a && back_in_rotation a; check "replica A SIGKILLed at 5 s, restarted, back in rotation" $?
at 12; kill -9 "${rpid[b]}"; wait "${rpid[b]}" 2>/dev/null
at 13; start_replica b
ready b && back_in_rotation b; check "replica B SIGKILLed at 12 s, restarted, back in rotation" $?
wait "$wdb" "$wjs"

# ---- what the clients saw ----------------------------------------------------------------
csv=$(curl -fsS --max-time 2 "http://127.0.0.1:$ps/stats;csv")
retries=$(echo "$csv" | awk -F, '$1=="tern" && $2=="BACKEND" {print $16}')
redispatches=$(echo "$csv" | awk -F, '$1=="tern" && $2=="BACKEND" {print $17}')
# each kill must have been seen: the replica went DOWN once and came back
for s in a b; do
  downs=$(echo "$csv" | awk -F, -v s=$s '$1=="tern" && $2==s {print $23}')
  ok=1; [ "${downs:-0}" -ge 1 ] && [ "$(status_of $s)" = UP ] && ok=0
  check "haproxy took replica $s out after its kill and back after its restart" $ok "went down ${downs:-?} times"
done
for ep in db json; do
  f=$scratch/wrk-$ep.txt
  total=$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' "$f")
  non2xx=$(sed -nE 's/^ *Non-2xx or 3xx responses: ([0-9]+).*/\1/p' "$f")
  sockerr=$(sed -nE 's/^ *Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+).*/\1 \2 \3 \4/p' "$f" |
            awk '{print $1 + $2 + $3 + $4}')
  rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$f")
  total=${total:-0} non2xx=${non2xx:-0} sockerr=${sockerr:-0}
  echo "/$ep: total $total, non-2xx $non2xx, socket errors $sockerr, $rps req/s"
  ok=1; [ "$total" -gt 1000 ] && [ "$non2xx" -eq 0 ] && [ "$sockerr" -eq 0 ] && ok=0
  check "/$ep through haproxy: no failed request across both kills" $ok "$(cat "$f")"
done
echo "haproxy: $retries retries, $redispatches redispatches"
# a sanitizer build reports memory errors in the replicas' logs (a SIGKILL skips leak checks)
reports=$(cat "$scratch"/a.log "$scratch"/b.log | grep -cE 'ERROR: AddressSanitizer|runtime error:')
check "no sanitizer report from the replicas" "$reports" "$(grep -hE -A5 'ERROR: AddressSanitizer|runtime error:' "$scratch"/a.log "$scratch"/b.log | head -20)"
finish
