import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MTU_SCRIPT, mtuEnvironment, proxyEnvironment } from './network.js';
import type { IntegrationSettings } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-mtu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the MTU part of the init script with a stand-in dockerd that prints its arguments. `modern` puts the flag's
 * name into the stand-in (as dockerd 24+ binaries carry it); asked for --version, the stand-in hangs, as a wrapper
 * script may: the script must never ask.
 */
function runScript(modern: boolean, env: Record<string, string>): { args: string[]; log: string } {
  const fake = join(dir, `dockerd-${modern ? 'modern' : 'old'}`);
  writeFileSync(fake, `#!/bin/sh\n${modern ? '# flags: --default-network-opt\n' : ''}if [ "$1" = --version ]; then exec sleep 600; fi\nprintf '%s\\n' "$@"\n`);
  chmodSync(fake, 0o755);
  const out = execFileSync('sh', ['-c', `exec 2>&1\n${MTU_SCRIPT}exec "$@"`, 'init', fake, '--host=unix:///x.sock'], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { args: out.trim().split('\n').filter((l) => l.startsWith('--')), log: out };
}

const settings = (s: Partial<IntegrationSettings>): IntegrationSettings => ({ jobPaths: true, mountPaths: [], mtuSetElsewhere: false, proxy: true, forwardPorts: true, ...s });
const NETOPT = (mtu: number | string) => `--default-network-opt=bridge=com.docker.network.driver.mtu=${mtu}`;

describe('MTU', () => {
  it('passes --mtu, and default-network-opt when the dockerd binary has that flag (24 and later)', () => {
    expect(runScript(true, { SETUP_DIND_MTU: '1400' }).args).toEqual(['--host=unix:///x.sock', '--mtu=1400', NETOPT(1400)]);
    const old = runScript(false, { SETUP_DIND_MTU: '1400' });
    expect(old.args).toEqual(['--host=unix:///x.sock', '--mtu=1400']);
    expect(old.log).toMatch(/this dockerd has no default-network-opt, which came with 24/);
  });

  it('believes the official image\'s DOCKER_VERSION', () => {
    expect(runScript(false, { SETUP_DIND_MTU: '1450', DOCKER_VERSION: '29.0.4' }).args).toEqual(['--host=unix:///x.sock', '--mtu=1450', NETOPT(1450)]);
    expect(runScript(true, { SETUP_DIND_MTU: '1450', DOCKER_VERSION: '23.0.6' }).args).toEqual(['--host=unix:///x.sock', '--mtu=1450']);
    expect(runScript(false, { SETUP_DIND_MTU: '1450', DOCKER_VERSION: 'dev' }).args).toEqual(['--host=unix:///x.sock', '--mtu=1450']);
  });

  it('detects the MTU of the interface with the default route', () => {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000');
    const result = runScript(true, { SETUP_DIND_MTU: 'auto' });
    if (!route) {
      expect(result.args).toEqual(['--host=unix:///x.sock']);
      expect(result.log).toMatch(/no MTU found/);
      return;
    }
    const mtu = readFileSync(`/sys/class/net/${route[0]}/mtu`, 'utf8').trim();
    if (mtu === '1500') {
      expect(result.args).toEqual(['--host=unix:///x.sock']);
      return;
    }
    expect(result.args).toEqual(['--host=unix:///x.sock', `--mtu=${mtu}`, NETOPT(mtu)]);
    expect(result.log).toContain(`MTU ${mtu} (from ${route[0]})`);
  });

  it('leaves dockerd\'s own default 1500 alone: no flag, no message', () => {
    for (const modern of [true, false]) {
      const usual = runScript(modern, { SETUP_DIND_MTU: '1500' });
      expect(usual.args).toEqual(['--host=unix:///x.sock']);
      expect(usual.log).not.toMatch(/setup-dind/);
    }
  });

  it('changes nothing without SETUP_DIND_MTU', () => {
    expect(runScript(true, {}).args).toEqual(['--host=unix:///x.sock']);
  });

  it('is driven by the mtu input, and stays out of the way of daemon-args/daemon-config', () => {
    expect(mtuEnvironment(settings({}))).toEqual(['SETUP_DIND_MTU=auto']);
    expect(mtuEnvironment(settings({ mtu: 1360 }))).toEqual(['SETUP_DIND_MTU=1360']);
    expect(mtuEnvironment(settings({ mtuSetElsewhere: true }))).toEqual([]);
  });
});

describe('proxyEnvironment', () => {
  const registry = { mirrors: ['https://mirror.internal:5000', 'http://[fd00::5]:80'], insecure: ['registry.local:5000', '10.0.0.0/8'] };

  it('passes the proxies on, with mirrors, local registries and local addresses direct', () => {
    const env = proxyEnvironment({ HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'corp.example' }, registry);
    expect(env).toContain('HTTPS_PROXY=http://proxy:3128');
    expect(env).toContain('https_proxy=http://proxy:3128');
    expect(env.some((e) => e.startsWith('HTTP_PROXY='))).toBe(false);
    const noProxy = env.find((e) => e.startsWith('NO_PROXY='))!.slice('NO_PROXY='.length).split(',');
    expect(noProxy).toEqual(['corp.example', 'localhost', '127.0.0.0/8', '::1', 'docker', 'mirror.internal', 'fd00::5', 'registry.local', '10.0.0.0/8']);
  });

  it('upper case wins, and nothing is set without a proxy', () => {
    expect(proxyEnvironment({ HTTP_PROXY: 'http://a:1', http_proxy: 'http://b:2' }, registry)).toContain('http_proxy=http://a:1');
    expect(proxyEnvironment({ NO_PROXY: 'x' }, registry)).toEqual([]);
  });
});
