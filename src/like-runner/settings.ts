// dind mode made to behave like the runner's own engine: the inputs that control it (job paths, extra mounts,
// MTU, proxies, port forwarding), parsed and validated here so inputs.ts only wires them in.
import { showValue } from '../show.js';
import { normalize, unmountableReason } from './mounts.js';

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
