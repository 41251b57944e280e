#!/usr/bin/env bash
# The real-engine test bed: a private dockerd on its own socket, data-root and exec-root under /var/tmp,
# plus locally built images (no registry is reachable here). Idempotent; run as root.
#   bed.sh start   install what is missing, start the daemon (if not running), build the images
#   bed.sh env     print `export DOCKER_HOST=...` for the bed daemon
#   bed.sh stop    stop the daemon this script started (by its pid file), nothing else
#   bed.sh status  exit 0 when the bed daemon answers
set -euo pipefail

BED_DIR=${SETUP_DIND_BED_DIR:-/var/tmp/setup-dind-bed}
SOCK="$BED_DIR/docker.sock"
PIDFILE="$BED_DIR/dockerd.pid"
LOG="$BED_DIR/dockerd.log"
CACHE="$BED_DIR/cache"
DOCKER_HOST_URL="unix://$SOCK"
# The bed's own bridge, so it never touches a docker0 that another daemon may own.
BRIDGE=sdbed0
BRIDGE_CIDR=172.31.250.1/24

log() { printf '[bed] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then echo "bed.sh: must run as root (it installs packages and starts dockerd)" >&2; exit 1; fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh || missing+=(busybox-static)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # busybox-static must really be the static one (docker import needs a self-contained binary).
  if ! file -L /bin/busybox 2>/dev/null | grep -q static && ! ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  fi
}

dk() { /usr/bin/docker -H "$DOCKER_HOST_URL" "$@"; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && dk version >/dev/null 2>&1
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
}

start_daemon() {
  mkdir -p "$BED_DIR/data" "$BED_DIR/exec" "$CACHE"
  if running; then log "daemon already running (pid $(cat "$PIDFILE"))"; return; fi
  ensure_bridge
  log "starting dockerd on $SOCK"
  # setsid: the daemon outlives this script and its caller's process group.
  setsid /usr/sbin/dockerd \
    --host "$DOCKER_HOST_URL" \
    --data-root "$BED_DIR/data" \
    --exec-root "$BED_DIR/exec" \
    --pidfile "$PIDFILE" \
    --bridge "$BRIDGE" \
    --containerd-namespace setup-dind-bed \
    --containerd-plugins-namespace setup-dind-bed-plugins \
    --group "$(getent group docker >/dev/null && echo docker || echo root)" \
    </dev/null >"$LOG" 2>&1 &
  local i
  for i in $(seq 1 200); do
    if dk version >/dev/null 2>&1; then log "daemon ready"; return; fi
    sleep 0.1
  done
  log "dockerd did not answer in 20 s; its log:"; tail -n 40 "$LOG" >&2; exit 1
}

build_images() {
  if ! dk image inspect local/busybox:1 >/dev/null 2>&1; then
    log "building local/busybox:1 from busybox-static"
    local tmp; tmp=$(mktemp -d)
    mkdir -p "$tmp/bin" "$tmp/tmp" "$tmp/etc"
    cp /bin/busybox "$tmp/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$tmp/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/etc/passwd"
    echo 'root:x:0:' >"$tmp/etc/group"
    tar -C "$tmp" -c . | dk import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - local/busybox:1 >/dev/null
    rm -rf "$tmp"
  fi
  if ! dk image inspect local/dind:test >/dev/null 2>&1; then
    if [ ! -s "$CACHE/dind-rootfs.tar" ]; then
      log "building the dind rootfs with mmdebstrap (about 40 s, cached in $CACHE)"
      mmdebstrap --quiet --variant=minbase --include=docker.io,iptables,ca-certificates,procps \
        bookworm "$CACHE/dind-rootfs.tar.part"
      mv "$CACHE/dind-rootfs.tar.part" "$CACHE/dind-rootfs.tar"
    fi
    log "importing local/dind:test"
    dk import --change 'CMD ["dockerd"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$CACHE/dind-rootfs.tar" local/dind:test >/dev/null
  fi
}

stop_daemon() {
  if [ ! -f "$PIDFILE" ]; then log "not running"; return; fi
  local pid; pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local i
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) need_root; install_packages; start_daemon; build_images; echo "export DOCKER_HOST=$DOCKER_HOST_URL" ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST_URL" ;;
  stop) need_root; stop_daemon ;;
  status) running ;;
  *) echo "usage: bed.sh start|env|stop|status" >&2; exit 2 ;;
esac
