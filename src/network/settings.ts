// The job daemon's own address plan: default-address-pools (where `docker network create` takes subnets from) and
// bip (the default bridge's address), for networks that collide with Docker's 172.17.0.0/16 and friends. Parsed
// and checked here, written into the job daemon's daemon.json (dind only).
import { showValue } from '../show.js';
import { type Cidr, bits, formatCidr, hostMask, overlaps, parseCidr } from './cidr.js';

export type NetworkInputName = 'default-address-pools' | 'bip';

export interface AddressPool {
  base: string;
  size: number;
}

export interface NetworkSettings {
  pools: AddressPool[];
  bip?: string;
}

/**
 * The entries of the input: one pool per line (or `;`), each dockerd's flag syntax `base=CIDR,size=N` (either order;
 * commas or spaces between the two; a key given again starts the next pool).
 */
function poolEntries(text: string): string[][] {
  const entries: string[][] = [];
  for (const line of text.split(/[\n;]/)) {
    let current: string[] = [];
    const parts = line.split(/[\s,]+/).filter(Boolean);
    // A line with neither key is not split: the problem shows it as written.
    if (!parts.some((p) => /^(base|size)=/i.test(p))) {
      if (line.trim()) entries.push([line.trim()]);
      continue;
    }
    for (const part of parts) {
      const key = part.split('=')[0]!.toLowerCase();
      if (current.some((p) => p.split('=')[0]!.toLowerCase() === key)) {
        entries.push(current);
        current = [];
      }
      current.push(part);
    }
    if (current.length) entries.push(current);
  }
  return entries;
}

function parsePool(parts: string[]): { pool?: AddressPool & { cidr: Cidr }; problem?: string } {
  const entry = parts.join(',');
  const fields = new Map(parts.map((part) => {
    const [key, ...rest] = part.split('=');
    return [key!.toLowerCase(), rest.join('=')] as const;
  }));
  const base = fields.get('base');
  const sizeText = fields.get('size');
  const unknown = [...fields.keys()].filter((k) => k !== 'base' && k !== 'size');
  const example = 'use base=CIDR,size=N, like base=10.200.0.0/16,size=24';
  if (!base || !sizeText || unknown.length) return { problem: `${showValue(entry)} is not a pool; ${example}` };
  const cidr = parseCidr(base);
  if (!cidr) return { problem: `${showValue(base)} is not an address range in CIDR notation; ${example}` };
  if (cidr.address & hostMask(cidr)) return { problem: `${showValue(base)} has host bits set; the range starts at ${formatCidr(cidr)}: use base=${formatCidr(cidr)}` };
  const size = Number(sizeText);
  const max = bits(cidr.family);
  if (!/^\d{1,3}$/.test(sizeText) || size < cidr.prefix || size > max) {
    return { problem: `size ${showValue(sizeText)} must be a prefix length from ${cidr.prefix} (the base's own) to ${max} for ${base}; like size=24` };
  }
  if (cidr.family === 4 && size > 30) return { problem: `size ${size} leaves no addresses for containers; use size=30 or less` };
  return { pool: { base, size, cidr } };
}

function parsePools(text: string, problems: string[]): AddressPool[] {
  const pools: (AddressPool & { cidr: Cidr })[] = [];
  for (const entry of poolEntries(text)) {
    const { pool, problem } = parsePool(entry);
    if (problem) problems.push(`input "default-address-pools": ${problem}`);
    else {
      const clash = pools.find((p) => overlaps(p.cidr, pool!.cidr));
      if (clash) problems.push(`input "default-address-pools": ${pool!.base} overlaps ${clash.base}; give pools that do not overlap`);
      else pools.push(pool!);
    }
  }
  return pools.map(({ base, size }) => ({ base, size }));
}

function parseBip(text: string, problems: string[]): string | undefined {
  const cidr = parseCidr(text);
  const example = 'the bridge\'s own address with a prefix length, like 10.201.0.1/24';
  if (!cidr || cidr.family !== 4) {
    problems.push(`input "bip": ${showValue(text)} is not an IPv4 address with a prefix length; use ${example}`);
    return undefined;
  }
  const host = cidr.address & hostMask(cidr);
  if (cidr.prefix > 30) problems.push(`input "bip": ${showValue(text)} leaves no room for containers; use a prefix of /30 or shorter, like ${example}`);
  else if (host === 0n || host === hostMask(cidr)) {
    problems.push(`input "bip": ${showValue(text)} is the ${host === 0n ? 'network' : 'broadcast'} address of ${formatCidr(cidr)}, not an address the bridge can have; use ${example}`);
  }
  return text;
}

/** The two inputs as given: pools one per line (or `;`), each `base=CIDR,size=N`; bip as ADDRESS/PREFIX. */
export function parseNetworkSettings(raw: Record<NetworkInputName, string>): { settings: NetworkSettings; problems: string[] } {
  const problems: string[] = [];
  const pools = parsePools(raw['default-address-pools'], problems);
  const bipText = raw.bip.trim();
  const bip = bipText ? parseBip(bipText, problems) : undefined;
  return { settings: { pools, ...(bip ? { bip } : {}) }, problems };
}

/** The daemon.json keys these settings give (nothing when none is set). */
export function networkDaemonJson(settings: NetworkSettings): Record<string, unknown> {
  return {
    ...(settings.pools.length ? { 'default-address-pools': settings.pools.map((p) => ({ base: p.base, size: p.size })) } : {}),
    ...(settings.bip ? { bip: settings.bip } : {}),
  };
}

const FLAGS: Record<string, string> = { '--default-address-pool': 'default-address-pools', '--bip': 'bip' };

/**
 * What the settings mean for the mode and the other inputs: they change only a daemon the action starts (dind),
 * and a key set here must not also come from daemon-config or a daemon-args flag (dockerd refuses duplicates).
 */
export function networkProblems(settings: NetworkSettings, use: { mode: string; daemonConfig: Record<string, unknown>; daemonArgs: string[] }): string[] {
  const problems: string[] = [];
  const keys = Object.keys(networkDaemonJson(settings));
  const input = (key: string): NetworkInputName => (key === 'bip' ? 'bip' : 'default-address-pools');
  if (use.mode !== 'dind') {
    for (const key of keys) {
      problems.push(`input "${input(key)}": applies only to mode dind (the daemon the action starts), but mode is ${use.mode}; set it in that daemon's daemon.json, or use mode dind`);
    }
    return problems;
  }
  for (const key of keys) {
    if (Object.hasOwn(use.daemonConfig, key)) problems.push(`input "daemon-config": "${key}" is also set by input "${input(key)}"; set it in one place`);
  }
  for (const arg of use.daemonArgs) {
    const key = FLAGS[arg.split('=')[0]!];
    if (key && keys.includes(key)) problems.push(`input "daemon-args": ${showValue(arg)} sets "${key}", which input "${input(key)}" sets too, and dockerd refuses a setting given twice; set it in one place`);
  }
  return problems;
}
