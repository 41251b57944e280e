import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLAIMS_DIR, CLAIMS_ENV, USERLAND_PROXY_WRAPPER, claimRefusal, claimsEnvironment, serveClaims } from './port-claims.js';
import { PortForwarder } from './forwarder.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sd-claims-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

/** Runs the wrapper as dockerd does (fd 3 a pipe for the verdict), with a fake docker-proxy that says "0\n". */
function runWrapper(dir: string, args: string[]): Promise<{ code: number; fd3: string; ran: boolean }> {
  const bin = join(dir, 'bin');
  const wrapper = join(dir, 'wrapper');
  writeFileSync(wrapper, USERLAND_PROXY_WRAPPER);
  chmodSync(wrapper, 0o755);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'docker-proxy'), `#!/bin/sh\necho "$@" > ${dir}/proxy-ran\nprintf '0\\n' >&3\n`);
  chmodSync(join(bin, 'docker-proxy'), 0o755);
  const fd3 = join(dir, 'fd3');
  writeFileSync(fd3, '');
  return new Promise((resolve) => {
    execFile('sh', ['-c', `exec 3>${fd3}; exec ${wrapper} "$@"`, 'sh', ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, SETUP_DIND_CLAIMS_DIR: join(dir, CLAIMS_DIR) } }, (e) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, fd3: readFileSync(fd3, 'utf8'), ran: existsSync(join(dir, 'proxy-ran')) });
    });
  });
}
/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
const dockerdArgs = (hostIp: string, port: number, proto = 'tcp') => ['-proto', proto, '-host-ip', hostIp, '-host-port', String(port), '-container-ip', '172.18.0.2', '-container-port', '80'];

async function listener(): Promise<{ port: number }> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => s.close());
  return { port: (s.address() as net.AddressInfo).port };
}

describe('the collision report', () => {
  it('a port held on the job\'s side fails the daemon\'s publish with the port and the remedy; a free one is forwarded', async () => {
    const dir = tempDir();
    const held = await listener();
    const fwd = new PortForwarder('127.0.0.9', ['127.0.0.1'], () => undefined);
    cleanups.push(() => fwd.close());
    const logged: string[] = [];
    const stop = serveClaims(dir, (p) => fwd.claim(p), (l) => logged.push(l), 20);
    cleanups.push(stop);

    const refused = await runWrapper(dir, dockerdArgs('0.0.0.0', held.port));
    expect(refused.code).toBe(1);
    expect(refused.ran).toBe(false);
    expect(refused.fd3).toBe(`1\n${claimRefusal(held.port, 'another job or program listens there')}`);
    expect(refused.fd3).toContain(`port ${held.port} is already allocated on the job's host`);
    expect(logged).toEqual([`warning: ${claimRefusal(held.port, 'another job or program listens there')}`]);
    expect(fwd.ports).toEqual([]);

    // A free port: the forwarder listens before the container runs, and the real proxy takes over (its "0").
    const free = await freePort();
    const ok = await runWrapper(dir, dockerdArgs('0.0.0.0', free));
    expect(ok).toMatchObject({ code: 0, fd3: '0\n', ran: true });
    expect(fwd.ports).toEqual([free]);
    // The container that published it takes the claim over (no second listener, no warning).
    await fwd.sync('c1', [free], '/web');
    expect(fwd.ports).toEqual([free]);
    fwd.release('c1');
    expect(fwd.ports).toEqual([]);
  });

  it('asks nothing for ports the job does not reach at 127.0.0.1, or without a forwarder', async () => {
    const dir = tempDir();
    for (const args of [dockerdArgs('127.0.0.1', 8080), dockerdArgs('0.0.0.0', 53, 'udp'), dockerdArgs('0.0.0.0', 8080)]) {
      // No claims directory (no forwarder follows the daemon): straight to docker-proxy.
      rmSync(join(dir, 'proxy-ran'), { force: true });
      expect(await runWrapper(dir, args)).toMatchObject({ code: 0, fd3: '0\n', ran: true });
    }
  });

  it('leaves dockerd\'s userland proxy to the user who set it, and to a rootless daemon', () => {
    const base = { forwardPorts: true, rootless: false, daemonArgs: [], daemonConfig: {} };
    expect(claimsEnvironment(base)).toEqual([`${CLAIMS_ENV}=1`]);
    expect(claimsEnvironment({ ...base, forwardPorts: false })).toEqual([]);
    expect(claimsEnvironment({ ...base, rootless: true })).toEqual([]);
    expect(claimsEnvironment({ ...base, daemonArgs: ['--userland-proxy=false'] })).toEqual([]);
    expect(claimsEnvironment({ ...base, daemonConfig: { 'userland-proxy-path': '/x' } })).toEqual([]);
  });

  it('a claim no container takes is closed after a minute', async () => {
    const fwd = new PortForwarder('127.0.0.9', ['127.0.0.1'], () => undefined);
    cleanups.push(() => fwd.close());
    const port = await freePort();
    expect(await fwd.claim(port, 1_000)).toBeUndefined();
    expect(fwd.ports).toEqual([port]);
    const other = await freePort();
    await fwd.claim(other, 62_000);
    expect(fwd.ports).toEqual([other]);
  });
});
