// The inner daemon's network settings that make it behave like the runner's engine: the MTU of the network it lives
// on (detected inside its container, where the interface is), and the job's proxy variables.
import type { IntegrationSettings } from './settings.js';

/**
 * Runs in the daemon's container just before dockerd (part of the init script; "$@" is the dockerd command).
 * SETUP_DIND_MTU is "auto" (the MTU of the interface that carries the default route) or a number. An MTU other
 * than dockerd's default 1500 goes to the default bridge (--mtu, every dockerd) and, for dockerd 24 and later, to
 * every network created later (--default-network-opt, e.g. compose's networks); older daemons only have the first,
 * and say so in the log.
 */
export const MTU_SCRIPT = `if [ -n "\${SETUP_DIND_MTU:-}" ]; then
  mtu=$SETUP_DIND_MTU; dev=
  if [ "$mtu" = auto ]; then
    mtu=
    while read -r iface dest _; do if [ "$dest" = 00000000 ]; then dev=$iface; break; fi; done < /proc/net/route
    if [ -n "$dev" ] && [ -r "/sys/class/net/$dev/mtu" ]; then mtu=$(cat "/sys/class/net/$dev/mtu"); fi
  fi
  case "$mtu" in ''|*[!0-9]*) echo "setup-dind: no MTU found (no default route); dockerd keeps its default" >&2 ;;
  # dockerd's own default for the bridge and for every network created later: nothing to pass, nothing to look up
  # (the lookup below reads the whole dockerd binary when the image does not say its version).
  1500) ;;
  *)
    # --default-network-opt exists from dockerd 24 on: known from the official image's DOCKER_VERSION, else from the
    # flag's name in the binary. Never by running it: a wrapper script may not answer --version.
    netopt=
    if [ -n "\${DOCKER_VERSION:-}" ]; then
      if [ "\${DOCKER_VERSION%%.*}" -ge 24 ] 2>/dev/null; then netopt=1; fi
    elif bin=$(command -v "$1" 2>/dev/null) && grep -q default-network-opt "$bin" 2>/dev/null; then
      netopt=1
    fi
    set -- "$@" "--mtu=$mtu"
    if [ -n "$netopt" ]; then
      set -- "$@" "--default-network-opt=bridge=com.docker.network.driver.mtu=$mtu"
      echo "setup-dind: MTU $mtu\${dev:+ (from $dev)} for the default bridge and new networks" >&2
    else
      echo "setup-dind: MTU $mtu\${dev:+ (from $dev)} for the default bridge (this dockerd has no default-network-opt, which came with 24: networks created later keep 1500 unless given com.docker.network.driver.mtu)" >&2
    fi ;;
  esac
fi
`;

/** The container environment that drives MTU_SCRIPT; empty when the user sets the MTU in daemon-args/config. */
export function mtuEnvironment(settings: IntegrationSettings): string[] {
  if (settings.mtuSetElsewhere) return [];
  return [`SETUP_DIND_MTU=${settings.mtu ?? 'auto'}`];
}

const PROXY_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const;

/** The job's proxy variables (either case; the upper-case one wins, as in Go and curl). */
export function jobProxies(env: Readonly<Record<string, string | undefined>>): Partial<Record<(typeof PROXY_NAMES)[number], string>> {
  const found: Partial<Record<(typeof PROXY_NAMES)[number], string>> = {};
  for (const name of PROXY_NAMES) {
    const value = env[name] || env[name.toLowerCase()];
    if (value) found[name] = value;
  }
  return found;
}

/** Hosts (with ports) of the mirrors: pulls through them stay direct, as the user gave their address. */
function mirrorHosts(mirrors: string[]): string[] {
  return mirrors.flatMap((m) => {
    try {
      const u = new URL(m);
      return [u.hostname.replace(/^\[|\]$/g, '')];
    } catch {
      return [];
    }
  });
}

/** Always direct: the daemon's own host and containers, and the names the job uses for the daemon. */
export const LOCAL_NO_PROXY = ['localhost', '127.0.0.0/8', '::1', 'docker'];

/**
 * Environment entries for the daemon's container: the job's proxies, with NO_PROXY extended by the mirrors, the
 * insecure registries (local registries, by their nature) and local addresses. Nothing when no proxy is set.
 */
export function proxyEnvironment(env: Readonly<Record<string, string | undefined>>, registry: { mirrors: string[]; insecure: string[] }, extraDirect: string[] = []): string[] {
  const found = jobProxies(env);
  if (!found.HTTP_PROXY && !found.HTTPS_PROXY) return [];
  const given = (found.NO_PROXY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const insecure = registry.insecure.map((h) => (h.includes('/') ? h : h.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
  const direct = [...new Set([...given, ...LOCAL_NO_PROXY, ...mirrorHosts(registry.mirrors), ...insecure, ...extraDirect])];
  const out: string[] = [];
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY'] as const) {
    const value = found[name];
    if (value) out.push(`${name}=${value}`, `${name.toLowerCase()}=${value}`);
  }
  out.push(`NO_PROXY=${direct.join(',')}`, `no_proxy=${direct.join(',')}`);
  return out;
}
