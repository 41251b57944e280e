// The daemon.json of the job's dockerd: what the registry inputs generate, merged with input daemon-config.
// A setting is given in one place only: dockerd itself refuses to start when a directive is set both as a
// flag and in daemon.json, and a silent override would hide a mistake.
import { showValue } from '../show.js';
import { parseDaemonArgs } from '../daemon-args.js';
import { type RegistrySettings, isEmptyRegistrySettings } from './settings.js';

/** daemon.json keys the action sets itself through dockerd flags. */
export const ACTION_OWNED_KEYS: string[] = ['hosts', 'group', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey', 'data-root', 'exec-root', 'pidfile'];

// Why each action-owned key cannot be set: the input that controls it, or that the action manages it per job.
const OWNER: Record<string, string> = {
  hosts: 'is set by the action (input "tcp" controls the TCP listener, the unix socket is per job)',
  group: 'is set by the action (the socket\'s group is chosen for the job)',
  tls: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
  tlsverify: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
  tlscacert: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
  tlscert: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
  tlskey: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
  'data-root': 'is set by the action (each job\'s daemon has its own data root)',
  'exec-root': 'is set by the action (each job\'s daemon has its own exec root)',
  pidfile: 'is set by the action (each job\'s daemon has its own pid file)',
};

// Sets a key as an own property, even one spelled "__proto__".
const put = (obj: Record<string, unknown>, key: string, value: unknown) =>
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });

export function buildDaemonJson(settings: RegistrySettings): { config: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  const generatedBy = new Map<string, string>(); // key -> input that generated it
  if (settings.mirrors.length) {
    put(config, 'registry-mirrors', [...settings.mirrors]);
    generatedBy.set('registry-mirrors', 'registry-mirrors');
  }
  if (settings.insecure.length) {
    put(config, 'insecure-registries', [...settings.insecure]);
    generatedBy.set('insecure-registries', 'insecure-registries');
  }
  for (const [key, value] of Object.entries(settings.daemonConfig)) {
    const input = generatedBy.get(key);
    if (Object.hasOwn(OWNER, key)) {
      problems.push(`input "daemon-config": "${key}" ${OWNER[key]}; remove it from daemon-config`);
    } else if (input !== undefined) {
      problems.push(`input "daemon-config": "${key}" is also set by input "${input}"; set it in one place`);
    } else {
      put(config, key, value);
    }
  }
  return { config, problems };
}

// dockerd flags (long names: the parser reads -D as --debug) whose daemon.json key is not the flag's own name.
const FLAG_KEYS: Record<string, string> = {
  '--registry-mirror': 'registry-mirrors',
  '--insecure-registry': 'insecure-registries',
  '--storage-opt': 'storage-opts',
  '--authorization-plugin': 'authorization-plugins',
  '--exec-opt': 'exec-opts',
  '--feature': 'features',
  '--default-network-opt': 'default-network-opts',
  '--dns-opt': 'dns-opts',
  '--host-gateway-ip': 'host-gateway-ips',
  '--label': 'labels',
  '--log-opt': 'log-opts',
  '--node-generic-resource': 'node-generic-resources',
  '--cdi-spec-dir': 'cdi-spec-dirs',
  '--default-address-pool': 'default-address-pools',
  '--default-ulimit': 'default-ulimits',
  '--add-runtime': 'runtimes',
  '--host': 'hosts',
  '--graph': 'data-root',
};

/**
 * Directives set both in daemon.json and as a dockerd flag in input daemon-args: dockerd refuses to start then
 * ("the following directives are specified both as a flag and in the configuration file").
 */
export function daemonArgsConflicts(settings: RegistrySettings, config: Record<string, unknown>, daemonArgs: string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  // Read as dockerd reads them (-Dl debug, --mtu 1400, -l=warn): a short or joined flag is the long one it stands for.
  for (const flag of parseDaemonArgs(daemonArgs).flags) {
    if (!flag.known) continue;
    const key = Object.hasOwn(FLAG_KEYS, `--${flag.name}`) ? FLAG_KEYS[`--${flag.name}`]! : flag.name;
    if (!Object.hasOwn(config, key) || seen.has(key)) continue;
    seen.add(key);
    const from = key === 'registry-mirrors' && settings.mirrors.length ? 'input "registry-mirrors"'
      : key === 'insecure-registries' && settings.insecure.length ? 'input "insecure-registries"' : 'input "daemon-config"';
    problems.push(`input "daemon-args": ${showValue(flag.written)} sets "${key}", which ${from} sets too, and dockerd refuses a setting given twice; set it in one place`);
  }
  return problems;
}

/**
 * What the registry settings mean for the mode (their syntax is already checked): daemon.json conflicts, flags of
 * daemon-args that set the same directive (dind), and settings a socket or external daemon cannot take.
 */
export function registryModeProblems(settings: RegistrySettings, use: { mode: string; configureHost: boolean; daemonArgs: string[] }): string[] {
  const { config, problems } = buildDaemonJson(settings);
  if (use.mode === 'dind') problems.push(...daemonArgsConflicts(settings, config, use.daemonArgs));
  const daemonWide = (['registry-mirrors', 'insecure-registries', 'daemon-config'] as const).filter((name) =>
    name === 'registry-mirrors' ? settings.mirrors.length : name === 'insecure-registries' ? settings.insecure.length : Object.keys(settings.daemonConfig).length,
  );
  if (use.mode === 'socket' && !use.configureHost) {
    for (const name of daemonWide) {
      problems.push(`input "${name}": in mode socket this changes the runner's own daemon (its daemon.json, then a reload); set configure-host: true to allow that, or use mode dind`);
    }
  }
  if (use.mode === 'external' && !isEmptyRegistrySettings(settings)) {
    for (const name of daemonWide) {
      problems.push(`input "${name}": mode external uses a daemon the action does not manage, so its daemon.json cannot be changed; configure it where that daemon starts (for a service: its command, e.g. --registry-mirror=URL)`);
    }
  }
  return problems;
}
