import { describe, expect, it } from 'vitest';
import { networkDaemonJson, networkProblems, parseNetworkSettings } from './settings.js';

const parse = (pools: string, bip = '') => parseNetworkSettings({ 'default-address-pools': pools, bip });

describe('default-address-pools and bip', () => {
  it('parses dockerd\'s pool syntax, one per line, and writes daemon.json keys', () => {
    const { settings, problems } = parse('base=10.200.0.0/16,size=24\n size=64, base=fd00:1::/48 ', '10.201.0.1/24');
    expect(problems).toEqual([]);
    expect(networkDaemonJson(settings)).toEqual({
      'default-address-pools': [{ base: '10.200.0.0/16', size: 24 }, { base: 'fd00:1::/48', size: 64 }],
      bip: '10.201.0.1/24',
    });
    expect(networkDaemonJson(parse('').settings)).toEqual({});
    expect(parse('base=10.1.0.0/16,size=24 base=10.2.0.0/16,size=26').settings.pools).toHaveLength(2);
  });

  it('rejects what dockerd would refuse or misread, naming the input, the value and the fix', () => {
    const problems = (pools: string, bip = '') => parse(pools, bip).problems.join('\n');
    expect(problems('10.200.0.0/16')).toMatch(/^input "default-address-pools": "10.200.0.0\/16" is not a pool; use base=CIDR,size=N/);
    expect(problems('base=10.300.0.0/16,size=24')).toMatch(/"10.300.0.0\/16" is not an address range in CIDR notation/);
    expect(problems('base=10.200.1.0/16,size=24')).toMatch(/has host bits set; the range starts at 10.200.0.0\/16: use base=10.200.0.0\/16/);
    expect(problems('base=fd00:1::1/48,size=64')).toMatch(/use base=fd00:1::\/48/);
    expect(problems('base=10.200.0.0/16,size=8')).toMatch(/size "8" must be a prefix length from 16 \(the base's own\) to 32/);
    expect(problems('base=10.200.0.0/16,size=x')).toMatch(/size "x" must be a prefix length/);
    expect(problems('base=10.200.0.0/16,size=31')).toMatch(/size 31 leaves no addresses for containers; use size=30 or less/);
    expect(problems('base=10.200.0.0/16,size=24,gateway=1')).toMatch(/is not a pool/);
    expect(problems('base=10.0.0.0/8,size=24\nbase=10.200.0.0/16,size=24')).toMatch(/10.200.0.0\/16 overlaps 10.0.0.0\/8; give pools that do not overlap/);
    expect(problems('', '10.201.0.0/24')).toMatch(/^input "bip": "10.201.0.0\/24" is the network address of 10.201.0.0\/24.*like 10.201.0.1\/24/);
    expect(problems('', '10.201.0.255/24')).toMatch(/broadcast address/);
    expect(problems('', '10.201.0.1')).toMatch(/is not an IPv4 address with a prefix length/);
    expect(problems('', 'fd00::1/64')).toMatch(/is not an IPv4 address/);
    expect(problems('', '10.201.0.1/31')).toMatch(/leaves no room for containers/);
  });

  it('apply only to dind, and only once (not also in daemon-config or daemon-args)', () => {
    const { settings } = parse('base=10.200.0.0/16,size=24', '10.201.0.1/24');
    expect(networkProblems(settings, { mode: 'dind', daemonConfig: {}, daemonArgs: ['--mtu=1400'] })).toEqual([]);
    expect(networkProblems(settings, { mode: 'socket', daemonConfig: {}, daemonArgs: [] }).join('\n')).toMatch(/input "default-address-pools": applies only to mode dind[\s\S]*input "bip": applies only to mode dind/);
    expect(networkProblems(settings, { mode: 'dind', daemonConfig: { bip: '10.1.0.1/24' }, daemonArgs: [] })).toEqual(['input "daemon-config": "bip" is also set by input "bip"; set it in one place']);
    expect(networkProblems(settings, { mode: 'dind', daemonConfig: {}, daemonArgs: ['--default-address-pool=base=10.3.0.0/16,size=24'] }).join()).toMatch(/input "daemon-args": .* sets "default-address-pools", which input "default-address-pools" sets too/);
    expect(networkProblems(parse('').settings, { mode: 'socket', daemonConfig: { bip: 'x' }, daemonArgs: ['--bip=x'] })).toEqual([]);
  });
});
