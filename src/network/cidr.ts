// Addresses and CIDR ranges, IPv4 and IPv6, as big integers: one set of rules for every input that takes a range
// (default-address-pools and bip in network/settings.ts, insecure-registries in registry/settings.ts). IPv6 is read
// as Go's net package reads it, which is what dockerd does: `::` compression, an embedded IPv4 tail
// (::ffff:10.0.0.1), and no zone (fe80::1%eth0 is not an address here).
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** The address as written (host bits kept, so a caller can say they are set). */
  address: bigint;
  prefix: number;
}

export const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

/** An IPv4 or IPv6 address as a number; undefined when it is not one (or carries a zone). */
export function ipToBigInt(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const family = isIP(ip);
  if (family === 4) return { family: 4, value: ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n) };
  if (family !== 6 || ip.includes('%')) return undefined;
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s); // ::ffff:1.2.3.4 -> two hex groups
  if (v4) {
    const n = ipToBigInt(v4[1]!)!.value;
    s = `${s.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { family: 6, value: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** The shortest form: IPv4 dotted, IPv6 with the longest run of two or more zero groups as "::". */
export function bigIntToIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** "10.0.0.0/16" or "fd00::/64"; undefined when it is not an address with a prefix length. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const ip = ipToBigInt(m[1]!);
  const prefix = Number(m[2]);
  if (!ip || prefix > bits(ip.family)) return undefined;
  return { family: ip.family, address: ip.value, prefix };
}

export const hostMask = (c: Cidr) => (1n << BigInt(bits(c.family) - c.prefix)) - 1n;
export const formatCidr = (c: Cidr) => `${bigIntToIp(c.family, c.address & ~hostMask(c))}/${c.prefix}`;

/** Whether two ranges share an address. */
export const overlaps = (a: Cidr, b: Cidr) => {
  if (a.family !== b.family) return false;
  const shift = BigInt(bits(a.family) - Math.min(a.prefix, b.prefix));
  return a.address >> shift === b.address >> shift;
};

/** Whether an address (IPv6 possibly in brackets) lies in the range. */
export function inCidr(address: string, c: Cidr): boolean {
  const ip = ipToBigInt(address.replace(/^\[|\]$/g, ''));
  if (!ip || ip.family !== c.family) return false;
  const shift = BigInt(bits(c.family) - c.prefix);
  return ip.value >> shift === c.address >> shift;
}
