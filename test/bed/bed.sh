#!/usr/bin/env bash
# The real-engine test bed: a private dockerd on its own socket, data-root and exec-root under one bed directory,
# in a network namespace of its own (its bridge, iptables rules and published ports never touch the host's network),
# plus locally built images (no registry is reachable here). Idempotent; run as root.
#   bed.sh start   install what is missing, start the daemon (if not running), build the images
#   bed.sh daemon  the first two steps of start (no images): for a caller that builds them later, beside other work
#   bed.sh images  build the images on the running daemon (the last step of start)
#   bed.sh env     print `export DOCKER_HOST=...` and `export SETUP_DIND_BED_NETNS=...` for the bed
#   bed.sh exec CMD...  run CMD in the bed's network namespace (where its published ports answer on 127.0.0.1)
#   bed.sh stop    stop the daemon this script started (by its pid file) and remove its namespace, nothing else
#   bed.sh status  exit 0 when the bed daemon answers
#   bed.sh check-rootfs FILE   exit 0 when FILE is a tar that holds dockerd, iptables and the docker CLI (the cache's check)
# The bed directory (SETUP_DIND_BED_DIR, default /var/tmp/setup-dind-bed) is the one cache the bed keeps: the dind
# root file system tarball, which is checked by content before every use and rebuilt when it fails the check.
set -euo pipefail

BED_DIR=${SETUP_DIND_BED_DIR:-/var/tmp/setup-dind-bed}
SOCK="$BED_DIR/docker.sock"
PIDFILE="$BED_DIR/dockerd.pid"
LOG="$BED_DIR/dockerd.log"
CACHE="$BED_DIR/cache"
DOCKER_HOST_URL="unix://$SOCK"
# One namespace per bed directory, so several beds can run side by side.
NETNS="sdbed-$(printf '%s' "$BED_DIR" | cksum | cut -d' ' -f1)"
NETNS_PATH="/run/netns/$NETNS"
# Debian suites whose docker.io the dind images carry (both by default): bookworm (20.10) is local/dind:test, trixie (26.1) is
# local/dind:trixie, closer to the official image (default-network-opts, a newer API). Each image carries the docker CLI
# of its suite, as the official image does (trixie packages it apart, as docker-cli, and its buildx plugin as
# docker-buildx): the client input copies them out of the image. sid (28.5, containerd 2.1, runc 1.3, buildx 0.29,
# compose v2) is local/dind:sid, the newest Docker Debian has; from it local/dind:sid-busybox, whose only tar is
# BusyBox's (the default docker:*-dind image's userland: no GNU tar, no zstd).
DIND_SUITES=${SETUP_DIND_BED_SUITES:-bookworm trixie sid}
# The dind images' layout: a bed whose images carry another value imports them again (2: the docker CLI in every image).
LAYOUT_LABEL=io.github.setup-dind.bed-layout
LAYOUT=2

log() { printf '[bed] %s\n' "$*" >&2; }
die() { printf '[bed] error: %s\n' "$*" >&2; exit 1; }

need_root() {
  if [ "$(id -u)" != 0 ]; then die "must run as root (it installs packages, starts dockerd and creates a network namespace)"; fi
}

install_packages() {
  local missing=()
  { command -v dockerd >/dev/null && [ -x /usr/bin/docker ]; } || missing+=(docker.io)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh || missing+=(busybox-static)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  python3 -c 'import docker' 2>/dev/null || missing+=(python3-docker)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v file >/dev/null || missing+=(file)
  command -v rsync >/dev/null || missing+=(rsync)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  fi
  # busybox-static must really be the static one (docker import needs a self-contained binary).
  if ! file -L /bin/busybox 2>/dev/null | grep -qE 'statically linked|static-pie linked'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null || die "apt-get install busybox-static failed"
  fi
}

dk() { /usr/bin/docker -H "$DOCKER_HOST_URL" "$@"; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && dk version >/dev/null 2>&1
}

ensure_netns() {
  if [ ! -e "$NETNS_PATH" ]; then
    ip netns add "$NETNS" || die "cannot create the network namespace $NETNS"
  fi
  ip netns exec "$NETNS" ip link set lo up
}

start_daemon() {
  mkdir -p "$BED_DIR/data" "$BED_DIR/exec" "$CACHE"
  # The jobs' non-root users reach the socket (docker group) and Node 24 through it: a `mktemp -d` bed is 0700.
  chmod 0755 "$BED_DIR"
  if running; then log "daemon already running (pid $(cat "$PIDFILE"))"; return; fi
  [ -e "$SOCK" ] && rm -f "$SOCK"
  ensure_netns
  log "starting dockerd on $SOCK (network namespace $NETNS)"
  # setsid: the daemon outlives this script and its caller's process group. nsenter enters only the network
  # namespace (no private mount namespace: the daemon's bind mounts see the host's files).
  # Name lookups in containers fail fast, as they fail anyway: the namespace reaches no name server, and the host's
  # (copied into every container) dropped the queries silently, so each lookup (a nested dockerd falling back to
  # registry-1.docker.io) waited out the resolver's timeouts, 10 s and more. --dns 127.0.0.1 refuses at once on the
  # default bridge; on a user-defined network the engine's embedded DNS never answers a query it cannot forward, so
  # the resolver's own wait is cut to 1 s, once (--dns-opt, honoured by Go's resolver in the nested dockerd).
  # Its own TMPDIR under the bed: a daemon kept between runs (SETUP_DIND_KEEP_BED=1) must not keep the first run's
  # temporary root, which that run removes (runc's exec files go there: "OCI runtime exec failed").
  mkdir -p "$BED_DIR/tmp"
  TMPDIR="$BED_DIR/tmp" setsid nsenter --net="$NETNS_PATH" /usr/sbin/dockerd \
    --host "$DOCKER_HOST_URL" \
    --data-root "$BED_DIR/data" \
    --exec-root "$BED_DIR/exec" \
    --pidfile "$PIDFILE" \
    --containerd-namespace setup-dind-bed \
    --containerd-plugins-namespace setup-dind-bed-plugins \
    --group "$(getent group docker >/dev/null && echo docker || echo root)" \
    --dns 127.0.0.1 --dns-opt timeout:1 --dns-opt attempts:1 \
    </dev/null >"$LOG" 2>&1 &
  local i
  for i in $(seq 1 200); do
    if dk version >/dev/null 2>&1; then log "daemon ready"; return; fi
    sleep 0.1
  done
  log "dockerd did not answer in 20 s; its log ($LOG):"; tail -n 40 "$LOG" >&2; exit 1
}

# A rootfs tarball is only trusted when it holds dockerd (Debian ships it in /usr/sbin), iptables and the docker CLI:
# checked by content, never by size or name.
valid_rootfs() {
  [ -f "$1" ] || return 1
  local list; list=$(tar -tf "$1" 2>/dev/null) || return 1
  grep -qxE '(\./)?usr/s?bin/dockerd' <<<"$list" && grep -qxE '(\./)?usr/s?bin/iptables' <<<"$list" &&
    grep -qxE '(\./)?usr/bin/docker' <<<"$list"
}

# Builds (or reuses, after checking it) the dind root file system for a Debian suite; prints the tarball's path.
dind_rootfs() {
  local suite=$1 tarball="$CACHE/dind-rootfs-$1.tar"
  if [ -e "$tarball" ] && ! valid_rootfs "$tarball"; then
    log "cached $tarball is no tar holding dockerd, iptables and the docker CLI: rebuilding it"
    rm -rf "$tarball"
  fi
  if [ ! -e "$tarball" ]; then
    log "building the $suite dind rootfs with mmdebstrap (about a minute, cached in $CACHE)"
    local tmp; tmp=$(mktemp "$CACHE/.dind-rootfs-$suite.XXXXXX")
    # bookworm's docker.io holds the CLI; later suites package it (and the buildx plugin) apart. sid's Release file
    # may be past its Valid-Until on a mirror; sid alone adds docker-compose (v2).
    local cli=,docker-cli,docker-buildx opts=()
    case $suite in
      bookworm) cli= ;;
      sid) cli=,docker-cli,docker-buildx,docker-compose; opts=(--aptopt='Acquire::Check-Valid-Until "false"') ;;
    esac
    # --format=tar: the output file's name must not pick the format (a name without .tar gives a directory).
    if ! mmdebstrap --quiet --format=tar --variant=minbase "${opts[@]}" \
      --include="docker.io$cli,iptables,ca-certificates,procps" "$suite" "$tmp" >&2; then
      rm -rf "$tmp"; die "mmdebstrap could not build the $suite dind rootfs (see its messages above)"
    fi
    if ! valid_rootfs "$tmp"; then
      rm -rf "$tmp"; die "mmdebstrap's $suite output is no tar holding dockerd, iptables and the docker CLI"
    fi
    mv "$tmp" "$tarball"
  fi
  printf '%s\n' "$tarball"
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
    tar -C "$tmp" -c . | dk import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - local/busybox:1 >/dev/null \
      || { rm -rf "$tmp"; die "docker import of local/busybox:1 failed"; }
    rm -rf "$tmp"
  fi
  # The suites' root file systems are built side by side (mmdebstrap mostly waits on downloads and dpkg); the
  # rootless image follows bookworm's. Each chain's messages are its own lines on stderr.
  local suite pids=() failed=0 pid
  for suite in $DIND_SUITES; do
    if [ "$suite" = bookworm ]; then
      ( dind_image "$suite"; build_rootless_image ) &
    elif [ "$suite" = sid ]; then
      ( dind_image "$suite"; build_busybox_tar_image ) &
    else
      dind_image "$suite" &
    fi
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed = 0 ] || die "building the dind images failed (see the messages above)"
}

# local/dind:test (bookworm) or local/dind:<suite>, imported from the suite's root file system unless already there.
dind_image() {
  local suite=$1 tag
  tag=local/dind:$([ "$suite" = bookworm ] && echo test || echo "$suite")
  # An image of an earlier layout (a bed kept from before) is imported again.
  if dk image inspect "$tag" >/dev/null 2>&1; then
    [ "$(dk image inspect -f "{{index .Config.Labels \"$LAYOUT_LABEL\"}}" "$tag")" = "$LAYOUT" ] && return 0
    log "$tag is of an earlier bed layout: importing it again"
    dk rmi -f "$tag" >/dev/null
  fi
  local tarball; tarball=$(dind_rootfs "$suite") || exit 1
  log "importing $tag"
  dk import --change 'CMD ["dockerd"]' --change "LABEL $LAYOUT_LABEL=$LAYOUT" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$tag" >/dev/null || die "docker import of $tag from $tarball failed"
}

# local/dind:rootless: local/dind:test made rootless the way docker's dind-rootless image is (a user "rootless", uid
# 1000, with subordinate ids; XDG_RUNTIME_DIR; an entrypoint that runs "dockerd ..." under rootlesskit with
# slirp4netns), from Debian's rootlesskit, slirp4netns, uidmap and iproute2 packages and what they need beyond the
# image (a few MB, downloaded once into the cache). Only with bookworm, whose packages the host's apt fetches.
ROOTLESS_DEBS="rootlesskit slirp4netns uidmap libsubid4 libslirp0 libglib2.0-0 iproute2 libbpf1 libelf1 libbsd0 libtirpc3 libtirpc-common"

rootless_entrypoint() {
  cat <<'SCRIPT'
#!/bin/sh
# local/dind:rootless: as the image's user, "dockerd ..." runs under rootlesskit (docker-init reaps its children).
set -eu
if [ "${1:-}" = dockerd ] && [ "$(id -u)" != 0 ]; then
  : "${XDG_RUNTIME_DIR:=/run/user/$(id -u)}"
  export XDG_RUNTIME_DIR
  mkdir -p "$XDG_RUNTIME_DIR" "$HOME/.local/share/docker"
  exec rootlesskit --net=slirp4netns --mtu=1500 --disable-host-loopback --port-driver=builtin \
    --copy-up=/etc --copy-up=/run ${DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS:-} docker-init -- "$@"
fi
exec "$@"
SCRIPT
}

build_rootless_image() {
  local tag=local/dind:rootless
  if dk image inspect "$tag" >/dev/null 2>&1; then
    [ "$(dk image inspect -f "{{index .Config.Labels \"$LAYOUT_LABEL\"}}" "$tag")" = "$LAYOUT" ] && return
    dk rmi -f "$tag" >/dev/null
  fi
  local debs="$CACHE/rootless-debs"
  if [ ! -f "$debs/.complete" ]; then
    log "downloading $ROOTLESS_DEBS"
    rm -rf "$debs"; mkdir -p "$debs"
    # shellcheck disable=SC2086
    (cd "$debs" && apt-get download $ROOTLESS_DEBS >/dev/null) || { rm -rf "$debs"; die "apt-get download of the rootless packages failed"; }
    touch "$debs/.complete"
  fi
  log "building $tag"
  local ctx d; ctx=$(mktemp -d)
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$ctx/tree"; done
  # The image's /bin, /sbin and /lib are links into /usr (merged /usr): the packages' files go there.
  for d in bin sbin lib lib64; do
    if [ -d "$ctx/tree/$d" ]; then mkdir -p "$ctx/tree/usr/$d"; cp -a "$ctx/tree/$d/." "$ctx/tree/usr/$d/"; rm -rf "${ctx:?}/tree/$d"; fi
  done
  mkdir -p "$ctx/tree/usr/local/bin"
  rootless_entrypoint >"$ctx/tree/usr/local/bin/dockerd-entrypoint.sh"
  chmod 0755 "$ctx/tree/usr/local/bin/dockerd-entrypoint.sh"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM local/dind:test
COPY tree/ /
RUN chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap && mkdir -p /run/user && chmod 1777 /run/user \\
 && useradd --create-home --uid 1000 --home-dir /home/rootless rootless \\
 && { grep -q '^rootless:' /etc/subuid || echo 'rootless:100000:65536' >>/etc/subuid; } \\
 && { grep -q '^rootless:' /etc/subgid || echo 'rootless:100000:65536' >>/etc/subgid; } \\
 && mkdir -p /home/rootless/.local/share/docker && chown -R rootless:rootless /home/rootless/.local
VOLUME /home/rootless/.local/share/docker
USER rootless
ENTRYPOINT ["/usr/local/bin/dockerd-entrypoint.sh"]
CMD ["dockerd"]
LABEL $LAYOUT_LABEL=$LAYOUT
DOCKERFILE
  DOCKER_BUILDKIT=0 dk build -q -t "$tag" "$ctx" >/dev/null || { rm -rf "$ctx"; die "building $tag failed"; }
  rm -rf "$ctx"
}

# local/dind:sid-busybox: local/dind:sid whose only tar is BusyBox's, as in the default docker:*-dind image (Alpine):
# GNU tar (/usr/bin/tar; /bin is a link to it) is replaced by the busybox-static binary, which runs its tar applet
# under that name, and no zstd is there.
build_busybox_tar_image() {
  local tag=local/dind:sid-busybox
  if dk image inspect "$tag" >/dev/null 2>&1; then
    [ "$(dk image inspect -f "{{index .Config.Labels \"$LAYOUT_LABEL\"}}" "$tag")" = "$LAYOUT" ] && return
    dk rmi -f "$tag" >/dev/null
  fi
  log "building $tag"
  local ctx; ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM local/dind:sid
COPY busybox /usr/bin/tar
RUN rm -f /usr/bin/zstd /usr/bin/unzstd /usr/bin/zstdcat /usr/bin/gtar /usr/sbin/rmt /usr/sbin/rmt-tar \\
 && ! tar --version 2>/dev/null | grep -q 'GNU tar' && ! command -v zstd
LABEL $LAYOUT_LABEL=$LAYOUT
DOCKERFILE
  DOCKER_BUILDKIT=0 dk build -q -t "$tag" "$ctx" >/dev/null || { rm -rf "$ctx"; die "building $tag failed"; }
  rm -rf "$ctx"
}

stop_daemon() {
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping dockerd (pid $pid)"
      kill -TERM "$pid"
      local i
      for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$PIDFILE"
  else
    log "dockerd not running"
  fi
  rm -f "$SOCK"
  if [ -e "$NETNS_PATH" ]; then
    # Whatever still runs in the bed's namespace was started through the bed (container shims, proxies).
    local pids; pids=$(ip netns pids "$NETNS" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      log "ending what still runs in $NETNS: $(echo $pids)"
      kill -KILL $pids 2>/dev/null || true
      sleep 0.2
    fi
    ip netns del "$NETNS" || die "cannot remove the network namespace $NETNS"
  fi
  # Mounts the daemon left under the bed (a daemon killed mid-way leaves its overlay and shm mounts).
  local m
  for m in $(awk -v d="$BED_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

case "${1:-}" in
  start) need_root; install_packages; start_daemon; build_images
    echo "export DOCKER_HOST=$DOCKER_HOST_URL"; echo "export SETUP_DIND_BED_NETNS=$NETNS_PATH" ;;
  daemon) need_root; install_packages; start_daemon
    echo "export DOCKER_HOST=$DOCKER_HOST_URL"; echo "export SETUP_DIND_BED_NETNS=$NETNS_PATH" ;;
  images) need_root; running || die "the bed's daemon is not running: bed.sh daemon (or start) first"; build_images ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST_URL"; echo "export SETUP_DIND_BED_NETNS=$NETNS_PATH" ;;
  exec) shift; need_root; [ -e "$NETNS_PATH" ] || die "the bed is not running (no $NETNS_PATH): bed.sh start first"
    exec nsenter --net="$NETNS_PATH" -- "$@" ;;
  stop) need_root; stop_daemon ;;
  status) running ;;
  check-rootfs) valid_rootfs "${2:?usage: bed.sh check-rootfs FILE}" ;;
  *) echo "usage: bed.sh start|daemon|images|env|exec CMD...|stop|status|check-rootfs FILE" >&2; exit 2 ;;
esac
