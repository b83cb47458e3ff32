#!/usr/bin/env bash
# tests/deploy/manifests.sh SOURCE_ROOT TERN_SERVICE_BIN - checks deploy/compose.yaml and
# deploy/k8s/*.yaml (check_manifests.mjs), installing its npm packages (JSON schemas of
# Kubernetes objects and of the Compose file) from package-lock.json the first time.
# Ends with "N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "node not found: run scripts/deps.sh"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$here/node_modules/kubernetes-models" ]; then
  if ! timeout 300 npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null; then
    echo "npm ci in tests/deploy failed"; echo "0 passed, 1 failed"; exit 1
  fi
fi
exec timeout 120 node "$here/check_manifests.mjs" "$@"
