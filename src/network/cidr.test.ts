import { describe, expect, it } from 'vitest';
import { bigIntToIp, formatCidr, inCidr, ipToBigInt, overlaps, parseCidr } from './cidr.js';

describe('ipToBigInt: one set of address rules for every range input', () => {
  it('reads IPv4 and IPv6 with :: compression at either end or in the middle', () => {
    expect(ipToBigInt('10.0.0.1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(ipToBigInt('::1')).toEqual({ family: 6, value: 1n });
    expect(ipToBigInt('fd00::')).toEqual({ family: 6, value: 0xfd00n << 112n });
    expect(ipToBigInt('fd00::1:2')).toEqual({ family: 6, value: (0xfd00n << 112n) | (1n << 16n) | 2n });
    expect(ipToBigInt('1:2:3:4:5:6:7:8')?.value).toBe(0x00010002000300040005000600070008n);
  });

  it('reads an embedded IPv4 tail as its two groups, as Go (and so dockerd) does', () => {
    expect(ipToBigInt('::ffff:10.0.0.1')).toEqual({ family: 6, value: (0xffffn << 32n) | 0x0a000001n });
  });

  it('refuses a zone, a host name and anything that is not an address', () => {
    for (const bad of ['fe80::1%eth0', 'example.com', '10.0.0', '10.0.0.256', '1::2::3', '']) expect(ipToBigInt(bad), bad).toBeUndefined();
  });

  it('writes the shortest form back', () => {
    expect(bigIntToIp(6, ipToBigInt('fd00:0:0:0:0:0:0:1')!.value)).toBe('fd00::1');
    expect(bigIntToIp(6, ipToBigInt('1:0:2:0:0:3:0:0')!.value)).toBe('1:0:2::3:0:0');
    expect(bigIntToIp(4, 0x0a0b0c0dn)).toBe('10.11.12.13');
  });
});

describe('ranges', () => {
  it('parses a prefix within the family and keeps the host bits as written', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, address: 0x0a010203n, prefix: 8 });
    expect(formatCidr(parseCidr('10.1.2.3/8')!)).toBe('10.0.0.0/8');
    expect(formatCidr(parseCidr('fd00::1/64')!)).toBe('fd00::/64');
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0', '10.0.0.0/8/1', 'fe80::%eth0/64', '10.0.0.0/-1']) expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('tells whether two ranges overlap (never across families) and whether an address lies in one', () => {
    expect(overlaps(parseCidr('10.0.0.0/8')!, parseCidr('10.200.0.0/16')!)).toBe(true);
    expect(overlaps(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/16')!)).toBe(false);
    expect(overlaps(parseCidr('::/0')!, parseCidr('0.0.0.0/0')!)).toBe(false);
    expect(inCidr('10.9.8.7', parseCidr('10.0.0.0/8')!)).toBe(true);
    expect(inCidr('[fd00::5]', parseCidr('fd00::/64')!)).toBe(true);
    expect(inCidr('fd01::5', parseCidr('fd00::/64')!)).toBe(false);
    expect(inCidr('10.0.0.1', parseCidr('::/0')!)).toBe(false);
    expect(inCidr('registry.local', parseCidr('0.0.0.0/0')!)).toBe(false);
  });
});
