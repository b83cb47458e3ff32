#!/usr/bin/env bash
# bench/h2load.sh [BUILD_DIR] - HTTP/2 throughput of tern-service with h2load (nghttp2):
# a self-signed certificate in a scratch folder turns on TLS + HTTP/2 (ALPN); h2load
# then loads GET /json as
#   h2 over TLS, 10 concurrent streams per connection   (what browsers and gRPC-ish clients do)
#   h2 over TLS, 1 stream per connection                 (no multiplexing)
#   HTTP/1.1 over TLS                                    (the same connections, no h2)
#   h2c, prior knowledge, 10 streams                     (cleartext HTTP/2: the TLS cost)
# Loopback only, one worker, bounded: DURATION seconds per run (default 10) after a
# 2 s warm-up. Prints one table row per run. Knobs: DURATION, CONNS (default 32),
# WORKERS (default 1), PATHS (default /json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
bin=$build/routes/tern-service
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-1}
PATHS=${PATHS:-/json}
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
[ -x "$bin" ] || { echo "no $bin: build first (meson setup build && ninja -C build)" >&2; exit 1; }

scratch=$(mktemp -d /tmp/tern-h2load-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

used=" $(ss -Htln | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ') "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [[ $used == *" $p "* ]] || { used+="$p "; echo "$p"; return; }
  done
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -keyout "$scratch/key.pem" -out "$scratch/cert.pem" -subj /CN=localhost >/dev/null 2>&1

start() { # port [tls] -> waits until it answers
  local port=$1 scheme=http; shift
  local env=(TERN_WORKERS="$WORKERS" TERN_ACCESS_LOG=off)
  if [ "${1:-}" = tls ]; then
    env+=(TERN_TLS_CERT="$scratch/cert.pem" TERN_TLS_KEY="$scratch/key.pem"); scheme=https
  fi
  env "${env[@]}" "$bin" --host 127.0.0.1 --port "$port" >"$scratch/tern-$port.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do
    curl -ksf -o /dev/null --max-time 1 "$scheme://127.0.0.1:$port/healthz" && return 0
    sleep 0.1
  done
  cat "$scratch/tern-$port.log" >&2
  return 1
}

tls_port=$(free_port) plain_port=$(free_port)
start "$tls_port" tls
start "$plain_port"

# One h2load run: prints "| what | path | req/s | succeeded | failed+errored | mean | p99-ish max |".
run() { # label path url h2load-args...
  local label=$1 path=$2 url=$3; shift 3
  local out
  out=$(timeout $((DURATION + 30)) h2load -t1 -c"$CONNS" -D "$DURATION" --warm-up-time=2 "$@" "$url" 2>&1) || true
  local rps ok bad mean sd
  rps=$(sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p' <<<"$out")
  read -r ok bad < <(sed -nE 's/^requests: .* ([0-9]+) succeeded, ([0-9]+) failed, ([0-9]+) errored.*/\1 \2 \3/p' <<<"$out" |
                     awk '{print $1, $2 + $3}')
  read -r mean sd < <(awk '/^time for request:/ {print $6, $7}' <<<"$out")
  local proto
  proto=$(sed -nE 's/^Application protocol: (.*)/\1/p' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$path" "${rps:-?}" "${ok:-?}" "${bad:-?}" \
    "${proto:-?}" "${mean:-?} ± ${sd:-?}"
  if [ -z "$rps" ]; then echo "$out" | tail -20 >&2; fi
}

echo "tern-service, $WORKERS worker(s), h2load -c$CONNS -D ${DURATION}s per row, loopback, $(nproc) CPUs"
echo
echo "| run | path | req/s | succeeded | failed+errored | protocol | latency mean ± sd |"
echo "| --- | --- | ---: | ---: | ---: | --- | --- |"
for path in $PATHS; do
  run "h2 + TLS, 10 streams/conn" "$path" "https://127.0.0.1:$tls_port$path" -m10
  run "h2 + TLS, 1 stream/conn" "$path" "https://127.0.0.1:$tls_port$path" -m1
  run "HTTP/1.1 + TLS" "$path" "https://127.0.0.1:$tls_port$path" --h1
  run "h2c (cleartext), 10 streams/conn" "$path" "http://127.0.0.1:$plain_port$path" -m10
done
