// The iptables backend of the job's dockerd, chosen the way docker's own dockerd-entrypoint.sh chooses it (the
// official image's entrypoint, which our init replaces): DOCKER_IPTABLES_LEGACY when the image sets it; legacy when
// the network namespace already holds legacy tables (mixing both backends breaks forwarding); else the image's
// default (nft on current images), with nf_tables loaded, and legacy only when nft does not work at all.
// The official image keeps its legacy tools in /usr/local/sbin/.iptables-legacy; Debian- and Alpine-style images
// name them iptables-legacy and friends, which get the same kind of directory. A fragment of the init script
// (POSIX sh, runs under `set -e`).

/** Where the legacy tools are put first on PATH for images that have no such directory of their own. */
export const LEGACY_DIR = '/run/setup-dind-iptables-legacy';

export const IPTABLES_CHOICE = `sd_legacy_tools() {
  [ -d /usr/local/sbin/.iptables-legacy ] && { echo /usr/local/sbin/.iptables-legacy; return 0; }
  command -v iptables-legacy >/dev/null 2>&1 || return 1
  mkdir -p ${LEGACY_DIR}
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    b=$(command -v "\${t%%tables*}tables-legacy\${t#*tables}" 2>/dev/null) && ln -sf "$b" "${LEGACY_DIR}/$t"
  done
  echo ${LEGACY_DIR}
}
sd_legacy=
sd_why=
if [ -n "\${DOCKER_IPTABLES_LEGACY+x}" ]; then
  sd_legacy=$DOCKER_IPTABLES_LEGACY; sd_why='DOCKER_IPTABLES_LEGACY is set'
  if [ -n "$sd_legacy" ]; then modprobe ip_tables 2>/dev/null || :; modprobe ip6_tables 2>/dev/null || :; else modprobe nf_tables 2>/dev/null || :; fi
elif (for f in /proc/net/ip_tables_names /proc/net/ip6_tables_names /proc/net/arp_tables_names; do
        if b=$(cat "$f" 2>/dev/null) && [ -n "$b" ]; then exit 0; fi
      done; exit 1); then
  sd_legacy=1; sd_why='legacy iptables tables are loaded'
elif ! iptables -nL >/dev/null 2>&1; then
  modprobe nf_tables 2>/dev/null || :
  if ! iptables -nL >/dev/null 2>&1; then
    modprobe ip_tables 2>/dev/null || :; modprobe ip6_tables 2>/dev/null || :
    if d=$(sd_legacy_tools) && "$d/iptables" -nL >/dev/null 2>&1; then sd_legacy=1; sd_why='the default iptables does not work, legacy does'; fi
  fi
fi
if [ -n "$sd_legacy" ]; then
  if d=$(sd_legacy_tools); then export PATH="$d:$PATH"; else echo "setup-dind: iptables-legacy is wanted ($sd_why), but this image has none; keeping its default iptables" >&2; fi
fi
# Said only where there is an iptables (an image without one says nothing here; its dockerd speaks for itself).
if command -v iptables >/dev/null 2>&1; then echo "setup-dind: $(iptables --version 2>&1)\${sd_why:+ ($sd_why)}" >&2; fi`;
