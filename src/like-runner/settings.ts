// dind mode made to behave like the runner's own engine: the inputs that control it (job paths, extra mounts,
// MTU, proxies, port forwarding), parsed and validated here so inputs.ts only wires them in.
import { showValue } from '../show.js';

/** Paths under which a job path is never mounted into the daemon's container: they are the container's own. */
const RESERVED_TARGETS = ['/proc', '/sys', '/dev', '/var/lib/docker', '/run/setup-dind', '/etc/docker', '/var/run/docker.sock', '/run/docker.sock'];
/** System directories that are never mounted as a whole (a job path equal to one of them). */
const SYSTEM_DIRS = ['/', '/bin', '/boot', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/run', '/sbin', '/usr', '/var', '/var/lib', '/var/run', '/root', '/home', '/opt', '/tmp', '/var/tmp', '/srv', '/mnt', '/media'];

/** Why a path cannot be mounted at the same path inside the daemon's container; undefined when it can. */
export function unmountableReason(path: string): string | undefined {
  const p = normalize(path);
  if (SYSTEM_DIRS.includes(p)) return `${p} is a system directory of the daemon's container`;
  const reserved = RESERVED_TARGETS.find((r) => p === r || p.startsWith(`${r}/`));
  if (reserved) return `${p} is inside ${reserved}, which the daemon's container needs for itself`;
  return undefined;
}

/** An absolute path without a trailing slash, duplicate slashes or . segments; '..' is kept (the caller refuses it). */
export function normalize(path: string): string {
  const parts = path.split('/').filter((s) => s && s !== '.');
  return `/${parts.join('/')}`;
}

export const INTEGRATION_DEFAULTS = {
  'job-paths': 'true',
  'mount-paths': '',
  mtu: '',
  proxy: 'true',
  'forward-ports': 'true',
} as const;
export type IntegrationInputName = keyof typeof INTEGRATION_DEFAULTS;

export interface IntegrationSettings {
  /** Mount the job's own paths (workspace, temp, tool cache, GitLab's project/builds dir) at identical paths. */
  jobPaths: boolean;
  /** More absolute paths to mount at identical paths. */
  mountPaths: string[];
  /** undefined: detect from the dind container's interface (when nothing else sets it); a number: that MTU. */
  mtu?: number;
  /** The daemon's MTU is set by daemon-args or daemon-config: the action leaves it alone. */
  mtuSetElsewhere: boolean;
  /** Pass the job's HTTP(S)_PROXY / NO_PROXY to the inner daemon. */
  proxy: boolean;
  /** Ports published on the inner daemon answer at 127.0.0.1:<port> on the job's side. */
  forwardPorts: boolean;
}

export const MIN_MTU = 576;
export const MAX_MTU = 65535;

function parseFlag(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off', ''].includes(v)) return false;
  return undefined;
}

export interface IntegrationContext {
  mode: string;
  daemonArgs: string[];
  daemonConfig: Record<string, unknown>;
}

export function parseIntegration(read: (name: IntegrationInputName) => string, context: IntegrationContext): { settings: IntegrationSettings; problems: string[] } {
  const problems: string[] = [];
  const bool = (name: IntegrationInputName): boolean => {
    const text = read(name).trim();
    const value = parseFlag(text === '' ? INTEGRATION_DEFAULTS[name] : text);
    if (value === undefined) {
      problems.push(`input "${name}": ${showValue(text)} is not a boolean; use true or false`);
      return parseFlag(INTEGRATION_DEFAULTS[name]) ?? false;
    }
    return value;
  };
  const jobPaths = bool('job-paths');
  const proxy = bool('proxy');
  const forwardPorts = bool('forward-ports');

  const mountPaths: string[] = [];
  for (const line of read('mount-paths').split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (!line.startsWith('/')) problems.push(`input "mount-paths": ${showValue(line)} is not an absolute path; give paths like /srv/fixtures, one per line`);
    else if (line.split('/').includes('..')) problems.push(`input "mount-paths": ${showValue(line)} contains "..", which would make the path inside differ from the path outside; give the real path`);
    else if (/[\0\r]/.test(line)) problems.push(`input "mount-paths": ${showValue(line)} contains control characters; remove them`);
    else {
      const reason = unmountableReason(line);
      if (reason) problems.push(`input "mount-paths": ${showValue(line)} cannot be mounted: ${reason}; mount a directory below it instead`);
      else mountPaths.push(normalize(line));
    }
  }

  const mtuSetElsewhere =
    context.daemonArgs.some((a) => a === '--mtu' || a.startsWith('--mtu=') || a.startsWith('--default-network-opt')) ||
    'mtu' in context.daemonConfig || 'default-network-opts' in context.daemonConfig;
  const mtuText = read('mtu').trim();
  let mtu: number | undefined;
  if (mtuText) {
    const n = Number(mtuText);
    if (!/^\d+$/.test(mtuText) || n < MIN_MTU || n > MAX_MTU) problems.push(`input "mtu": ${showValue(mtuText)} is not an MTU; use a number of bytes between ${MIN_MTU} and ${MAX_MTU} (like 1400), or leave it empty to use the daemon container's own`);
    else if (mtuSetElsewhere) problems.push(`input "mtu": ${showValue(mtuText)} is also set through daemon-args or daemon-config (mtu, --mtu, default-network-opts); set it in one place`);
    else mtu = n;
  }

  if (context.mode !== 'dind') {
    const given: [IntegrationInputName, string][] = [['job-paths', jobPaths ? 'true' : 'false'], ['mount-paths', mountPaths.join(' ')], ['mtu', mtuText], ['proxy', proxy ? 'true' : 'false'], ['forward-ports', forwardPorts ? 'true' : 'false']];
    for (const [name, value] of given) {
      if (value !== INTEGRATION_DEFAULTS[name]) problems.push(`input "${name}": ${showValue(value)} applies only to mode dind, but mode is ${context.mode}; remove it or use mode dind`);
    }
  }
  return { settings: { jobPaths, mountPaths, mtu, mtuSetElsewhere, proxy, forwardPorts }, problems };
}
