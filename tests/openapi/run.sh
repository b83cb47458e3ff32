#!/usr/bin/env bash
# tests/openapi/run.sh MODE SERVICE_BIN WORK_DIR - installs this folder's npm packages
# into WORK_DIR (npm ci, again only when package-lock.json changes), then runs
# check.mjs MODE against SERVICE_BIN. Exit 77 (skipped) when node or npm is missing.
set -euo pipefail
mode=$1 service=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node and npm are needed (scripts/deps.sh installs them)"
  exit 77
fi
mkdir -p "$work"
(
  flock 9 # the validate and browser tests share the install
  if ! cmp -s "$here/package-lock.json" "$work/installed.lock"; then
    cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$work/"
    # --ignore-scripts: the packages need no install step, and none may reach the network
    (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$here/package-lock.json" "$work/installed.lock"
  fi
) 9>"$work/.lock"
exec node "$here/check.mjs" "$mode" "$service" "$work/node_modules"
