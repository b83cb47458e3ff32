#!/usr/bin/env bash
# scripts/deps.sh - install what tern needs to build, test and run, from Debian 12's
# packages. Idempotent: installs only what is missing. Run as root (or with sudo).
#   deps.sh          build + run + test dependencies
#   deps.sh --cross  also the aarch64 cross compiler and qemu-user (coroutine tests)
set -euo pipefail

PKGS=(
  # build
  gcc clang meson ninja-build pkg-config
  libh2o-dev libuv1-dev libssl-dev libjansson-dev libyaml-dev
  libhiredis-dev libmariadb-dev
  # tests and tools
  libcriterion-dev libcurl4-openssl-dev curl openssl valgrind libclang-rt-14-dev
  redis-server mariadb-server mariadb-client wrk procps
  # operations: promtool checks /metrics, haproxy fronts the scale-out test, h2load
  # benchmarks HTTP/2 (node + npm check deploy/ against JSON schemas: tests/deploy)
  prometheus haproxy nghttp2-client
  # OpenAPI checks (tests/openapi): headless Chromium renders /docs and /redoc
  chromium
  # tests/fault/drill.sh: arithmetic on timings, /readyz JSON
  bc jq
  # bench/run.sh: the database ceiling, the chart, and the FastAPI peer (bench/fastapi)
  sysbench gnuplot-nox python3-fastapi python3-uvicorn python3-uvloop python3-httptools
  python3-aiomysql python3-redis python3-jinja2
)
# Node.js + npm run the validators. Only when missing: a Node.js from elsewhere
# (NodeSource's) ships its own npm and conflicts with Debian's npm package.
command -v node >/dev/null || PKGS+=(nodejs)
command -v npm >/dev/null || PKGS+=(npm)
if [ "${1:-}" = "--cross" ]; then
  PKGS+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: run as root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
# Debian starts the packaged servers on install; tern's scripts start their own on
# loopback ports in scratch folders, so these are not needed (and hold 6379/3306/9090).
for svc in redis-server mariadb prometheus haproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
