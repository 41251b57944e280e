// Input daemon-args, read the way dockerd reads its command line (spf13/pflag): long flags as --flag=value or
// --flag value, short flags as -H value, -Hvalue or -H=value, several short flags joined (-DH tcp://…), bool flags
// that take no value. Every flag the action sets itself is found in each of those forms and rejected, naming the
// flag, what the user wrote and the input meant for it.
import { showValue } from './show.js';

interface FlagSpec {
  short?: string;
  /** A bool flag (pflag's NoOptDefVal): `--flag` alone means true, and the next argument is not its value. */
  bool?: true;
}

/**
 * dockerd's flags (Linux, 20.10 to 29), hidden and deprecated ones included. A flag missing here is handled the
 * cautious way: it may be a bool flag, so a following argument that starts with "-" is read as a flag.
 */
const FLAGS: Record<string, FlagSpec> = {
  'add-runtime': {}, 'allow-direct-routing': { bool: true }, 'allow-nondistributable-artifacts': {}, 'api-cors-header': {},
  'authorization-plugin': {}, bip: {}, bip6: {}, bridge: { short: 'b' }, 'bridge-accept-fwmark': {}, 'cdi-spec-dir': {},
  'cgroup-parent': {}, 'cluster-advertise': {}, 'cluster-store': {}, 'cluster-store-opt': {}, 'config-file': {},
  containerd: {}, 'containerd-namespace': {}, 'containerd-plugins-namespace': {}, 'cpu-rt-period': {}, 'cpu-rt-runtime': {},
  'cri-containerd': { bool: true }, 'data-root': {}, debug: { short: 'D', bool: true }, 'default-address-pool': {},
  'default-cgroupns-mode': {}, 'default-gateway': {}, 'default-gateway-v6': {}, 'default-ipc-mode': {},
  'default-network-opt': {}, 'default-runtime': {}, 'default-shm-size': {}, 'default-ulimit': {},
  'disable-legacy-registry': { bool: true }, dns: {}, 'dns-opt': {}, 'dns-search': {}, 'exec-opt': {}, 'exec-root': {},
  experimental: { bool: true }, feature: {}, 'firewall-backend': {}, 'fixed-cidr': {}, 'fixed-cidr-v6': {},
  graph: { short: 'g' }, group: { short: 'G' }, help: { short: 'h', bool: true }, host: { short: 'H' },
  'host-gateway-ip': {}, 'http-proxy': {}, 'https-proxy': {}, icc: { bool: true }, init: { bool: true }, 'init-path': {},
  'insecure-registry': {}, ip: {}, 'ip-forward': { bool: true }, 'ip-forward-no-drop': { bool: true },
  'ip-masq': { bool: true }, ip6tables: { bool: true }, iptables: { bool: true }, ipv6: { bool: true }, label: {},
  'live-restore': { bool: true }, 'log-driver': {}, 'log-format': {}, 'log-level': { short: 'l' }, 'log-opt': {},
  'max-concurrent-downloads': {}, 'max-concurrent-uploads': {}, 'max-download-attempts': {}, 'metrics-addr': {}, mtu: {},
  'network-control-plane-mtu': {}, 'network-diagnostic-port': {}, 'no-new-privileges': { bool: true }, 'no-proxy': {},
  'node-generic-resource': {}, 'oom-score-adjust': {}, pidfile: { short: 'p' }, 'raw-logs': { bool: true },
  'registry-mirror': {}, restart: { bool: true }, rootless: { bool: true }, 'seccomp-profile': {},
  'selinux-enabled': { bool: true }, 'shutdown-timeout': {}, 'storage-driver': { short: 's' }, 'storage-opt': {},
  'swarm-default-advertise-addr': {}, tls: { bool: true }, tlscacert: {}, tlscert: {}, tlskey: {}, tlsverify: { bool: true },
  'userland-proxy': { bool: true }, 'userland-proxy-path': {}, 'userns-remap': {}, validate: { bool: true },
  version: { short: 'v', bool: true },
};

const SHORT: Record<string, string> = Object.fromEntries(
  Object.entries(FLAGS).filter(([, s]) => s.short).map(([name, s]) => [s.short!, name]),
);

const USE_TCP = 'use input "tcp: true" for a TLS listener with per-job certificates (output cert-path)';

/** Flags the action sets itself (or that stop dockerd from serving), and what to use instead. */
export const RESERVED_DAEMON_FLAGS: Record<string, string> = {
  host: `the action's socket is per job; ${USE_TCP}, or mode socket/external with input "docker-host" for another daemon`,
  group: "the socket already belongs to the runner user's group; remove it",
  'data-root': 'the data root is a per-job volume that post removes; use input "cache: data-root" to keep it between jobs',
  graph: 'the data root is a per-job volume that post removes; use input "cache: data-root" to keep it between jobs',
  'exec-root': 'the action needs dockerd\'s runtime files where it put them; remove it',
  pidfile: 'the action needs dockerd\'s runtime files where it put them; remove it',
  tls: USE_TCP,
  tlsverify: USE_TCP,
  tlscacert: USE_TCP,
  tlscert: USE_TCP,
  tlskey: USE_TCP,
  'config-file': 'the action passes its own daemon.json; use input "daemon-config" for daemon.json settings',
  help: 'it makes dockerd print its usage and exit instead of serving; remove it',
  version: 'it makes dockerd print its version and exit instead of serving; remove it',
  validate: 'it makes dockerd check its configuration and exit instead of serving; remove it',
};

export interface DaemonFlag {
  /** The long name (`host`); for a short flag dockerd does not have, the letter. */
  name: string;
  known: boolean;
  value?: string;
  /** The argument(s) that set it, as written. */
  written: string;
}

export interface ParsedDaemonArgs {
  flags: DaemonFlag[];
  problems: string[];
}

const describe = (name: string) => `--${name}${FLAGS[name]?.short ? ` (-${FLAGS[name]!.short})` : ''}`;

/** Reads argv the way pflag does; reserved flags, arguments that are not flags and bad syntax become problems. */
export function parseDaemonArgs(args: readonly string[]): ParsedDaemonArgs {
  const flags: DaemonFlag[] = [];
  const problems: string[] = [];
  const problem = (text: string) => problems.push(`input "daemon-args": ${text}`);
  // An unknown flag may be a bool flag or take a value: a plain word after it is allowed as its value.
  let valueMayFollow = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const mayFollow = valueMayFollow;
    valueMayFollow = false;
    if (arg === '--') {
      problem(`${showValue(arg)} ends dockerd's flags, and dockerd takes no other arguments; remove it`);
      continue;
    }
    if (arg.length < 2 || !arg.startsWith('-')) {
      if (!mayFollow) problem(`${showValue(arg)} is not a dockerd flag, and dockerd takes no other arguments; write flags such as --mtu=1400 or --mtu 1400`);
      continue;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      if (body.startsWith('-') || body.startsWith('=')) {
        problem(`${showValue(arg)} is not flag syntax dockerd accepts; write --name=value`);
        continue;
      }
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      const spec = FLAGS[name];
      if (eq !== -1) flags.push({ name, known: Boolean(spec), value: body.slice(eq + 1), written: arg });
      else if (spec?.bool) flags.push({ name, known: true, written: arg });
      else if (spec) {
        // A value flag takes the next argument whatever it looks like (`--label -H` is the label "-H").
        flags.push({ name, known: true, value: next, written: next === undefined ? arg : `${arg} ${next}` });
        if (next === undefined) problem(`${showValue(arg)} needs a value; write ${arg}=VALUE`);
        i++;
      } else {
        flags.push({ name, known: false, written: arg });
        valueMayFollow = true;
      }
      continue;
    }
    // One or more short flags: -D, -Hvalue, -H value, -H=value, -DHvalue, -DH value.
    let rest = arg.slice(1);
    while (rest.length) {
      const letter = rest[0]!;
      const name = SHORT[letter];
      const spec = name ? FLAGS[name]! : undefined;
      if (rest[1] === '=' ) {
        flags.push({ name: name ?? letter, known: Boolean(spec), value: rest.slice(2), written: arg });
        break;
      }
      if (!spec) {
        // dockerd refuses an unknown letter; read the letters after it as flags, the cautious way.
        flags.push({ name: letter, known: false, written: arg });
        rest = rest.slice(1);
        if (!rest.length) valueMayFollow = true;
        continue;
      }
      if (spec.bool) {
        flags.push({ name: name!, known: true, written: arg });
        rest = rest.slice(1);
        continue;
      }
      if (rest.length > 1) {
        flags.push({ name: name!, known: true, value: rest.slice(1), written: arg });
      } else {
        flags.push({ name: name!, known: true, value: next, written: next === undefined ? arg : `${arg} ${next}` });
        if (next === undefined) problem(`${showValue(arg)} needs a value; write -${letter} VALUE`);
        i++;
      }
      break;
    }
  }
  for (const flag of flags) {
    const remedy = flag.known && RESERVED_DAEMON_FLAGS[flag.name];
    if (remedy) problem(`${showValue(flag.written)} sets ${describe(flag.name)}, which is set by the action itself; ${remedy}`);
  }
  return { flags, problems };
}
