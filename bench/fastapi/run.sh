#!/usr/bin/env bash
# bench/fastapi/run.sh [PORT] [WORKERS] - start the FastAPI peer of tern's example service.
# PORT and WORKERS come from the arguments, else from $PORT / $WORKERS, else 8000 / 1.
# Installs the Debian packages it needs when missing (needs root), then execs uvicorn,
# so this script's pid is the server's (with WORKERS > 1, uvicorn's supervisor's).
# Reads TERN_MYSQL_URL, TERN_REDIS_URL, POOL_MAX, POOL_MIN, HERO_CACHE_TTL (see app.py).
set -euo pipefail
cd "$(dirname "$0")"
PORT=${1:-${PORT:-8000}}
WORKERS=${2:-${WORKERS:-1}}

pkgs=(python3-fastapi python3-uvicorn python3-uvloop python3-httptools
      python3-aiomysql python3-redis python3-jinja2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "run.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q "${missing[@]}" >&2
fi

exec /usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" \
  --workers "$WORKERS" --loop uvloop --http httptools --no-access-log --log-level warning
