// The registry fixture on the bed's engine: for each TLS mode, a registry on its own network, seeded with busybox,
// pulled (or refused) by throw-away daemons on that network. Leaves nothing behind.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certsDFiles,
  dockerOk,
  leftovers,
  type RegistryTls,
  seedImage,
  startDaemon,
  startRegistry,
  type TestDaemon,
  type TestRegistry,
  writeCertsD,
} from './registry-fixture.js';

const HOST = process.env.DOCKER_HOST;
const SKIP_REASON = 'skipped: DOCKER_HOST is not set (run `bash test/bed/bed.sh start` and export the line it prints, or use scripts/test.sh)';
if (!HOST) console.warn(`registry-fixture.test.ts ${SKIP_REASON}`);

const BUSYBOX = 'local/busybox:1';
const ALIAS = 'registry.test';

// Everything started here, so that a failing test still cleans up (afterAll) and the leak check can name it.
const registries: TestRegistry[] = [];
const daemons: TestDaemon[] = [];
const dirs: string[] = [];
const seededTags: string[] = [];

async function daemon(opts: Parameters<typeof startDaemon>[0]): Promise<TestDaemon> {
  const d = await startDaemon(opts);
  daemons.push(d);
  return d;
}

async function certsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'setup-dind-registry-test-certs-'));
  dirs.push(dir);
  return dir;
}

/** Access-log lines (Apache combined format) from one client address. */
const accessLines = (log: string, ip: string) => log.split('\n').filter((l) => l.startsWith(`${ip} - - [`));

/** The registry's log from now on (a removed container's address may come back for the next one). */
async function logFromNow(reg: TestRegistry): Promise<() => Promise<string>> {
  const mark = (await reg.logs()).length;
  return async () => (await reg.logs()).slice(mark);
}

/** Stops a registry and drops it from the afterAll list (kept there if stop() fails, for another try). */
async function stopRegistry(reg: TestRegistry): Promise<void> {
  await reg.stop();
  const i = registries.indexOf(reg);
  if (i >= 0) registries.splice(i, 1);
}

async function stopAll(): Promise<string[]> {
  const problems: string[] = [];
  for (const d of daemons.splice(0)) await d.stop().catch((e: Error) => problems.push(e.message));
  for (const r of registries.splice(0)) await r.stop().catch((e: Error) => problems.push(e.message));
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  return problems;
}

describe.skipIf(!HOST)(`registry fixture${HOST ? '' : ` (${SKIP_REASON})`}`, () => {
  let busyboxId = '';
  const registryDirs: string[] = [];

  beforeAll(async () => {
    busyboxId = (await dockerOk(HOST!, ['image', 'inspect', '-f', '{{.Id}}', BUSYBOX])).trim();
  });

  afterAll(async () => {
    const problems = await stopAll();
    expect(problems, 'cleanup problems').toEqual([]);
    expect(await leftovers(HOST), 'containers/networks labelled by this run').toEqual({ containers: [], networks: [] });
  });

  describe.each<RegistryTls>(['none', 'server', 'mutual'])('tls %s', (tls) => {
    let reg: TestRegistry;

    beforeAll(async () => {
      reg = await startRegistry({ alias: ALIAS, tls, dockerHost: HOST });
      registries.push(reg);
      registryDirs.push(reg.dir);
      seededTags.push(`127.0.0.1:${reg.hostPort}/library/busybox:1`);
      await seedImage(reg, BUSYBOX, 'library/busybox:1');
    });

    afterAll(async () => {
      // The daemons first: the fixture removes its network, and a network with endpoints cannot go.
      for (const d of daemons.splice(0)) await d.stop();
      if (reg) await stopRegistry(reg);
    });

    it('describes itself', () => {
      expect(reg.address).toBe(`${ALIAS}:5000`);
      expect(reg.url).toBe(`${tls === 'none' ? 'http' : 'https'}://${ALIAS}:5000`);
      expect(reg.network).toMatch(/^setup-dind-test-registry-/);
      expect(reg.containerId).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(reg.dir, 'etc', 'config.yml'))).toBe(true);
      if (tls === 'none') expect(reg.caFile).toBeUndefined();
      else expect(reg.caPem).toContain('BEGIN CERTIFICATE');
      if (tls === 'mutual') expect(existsSync(reg.clientKeyFile!)).toBe(true);
      else expect(reg.clientCertFile).toBeUndefined();
    });

    it('lists the seeded repository in its catalog, and its access log shows the push', async () => {
      expect(await reg.catalog()).toContain('library/busybox');
      const log = await reg.logs();
      expect(log).toMatch(/"PUT \/v2\/library\/busybox\/manifests\/1 HTTP\/1\.1" 201 /);
      expect(log).toMatch(/"PUT \/v2\/library\/busybox\/blobs\/uploads\/[^ ]+digest=sha256%3A[0-9a-f]{64} HTTP\/1\.1" 201 /);
      // The bed engine keeps no tag of ours.
      expect(await dockerOk(HOST!, ['images', '-q', `127.0.0.1:${reg.hostPort}/library/busybox`])).toBe('');
    });

    it(`is pulled as ${ALIAS}:5000/library/busybox:1 by a daemon that trusts it${tls === 'none' ? '' : ', and refused without the trust'}`, async () => {
      const image = `${reg.address}/library/busybox:1`;
      const dir = await certsDir();
      const d = await daemon({ network: reg.network, certsDir: dir, dockerHost: HOST, args: tls === 'none' ? ['--insecure-registry', reg.address] : [] });

      if (tls === 'server') {
        const refused = await d.docker(['pull', image]);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('x509: certificate signed by unknown authority');
      }
      if (tls === 'mutual') {
        // No CA either: the server certificate is refused first.
        const noCa = await d.docker(['pull', image]);
        expect(noCa.code).not.toBe(0);
        expect(noCa.stderr).toContain('x509: certificate signed by unknown authority');
        // CA but no client certificate: the registry refuses the handshake.
        await writeCertsD(dir, certsDFiles(reg, { client: false }));
        const noClient = await d.docker(['pull', image]);
        expect(noClient.code).not.toBe(0);
        expect(noClient.stderr).toMatch(/remote error: tls: bad certificate|certificate required/);
        expect(await reg.logs()).toContain(`TLS handshake error from ${d.ip}:`);
      }

      // certs.d is read at every pull: installing the files now is enough.
      await writeCertsD(dir, certsDFiles(reg));
      const log = await logFromNow(reg);
      const pulled = await d.docker(['pull', image]);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${image}`);
      expect((await d.docker(['image', 'inspect', '-f', '{{.Id}}', image])).stdout.trim()).toBe(busyboxId);

      // The proof in the registry's access log: dockerd 20.10 asks for the tag with HEAD, then GETs by digest.
      const lines = accessLines(await log(), d.ip);
      expect(lines.some((l) => l.includes('"HEAD /v2/library/busybox/manifests/1 HTTP/1.1" 200 '))).toBe(true);
      expect(lines.some((l) => /"GET \/v2\/library\/busybox\/manifests\/sha256:[0-9a-f]{64} HTTP\/1\.1" 200 /.test(l))).toBe(true);
      expect(lines.some((l) => /"GET \/v2\/library\/busybox\/blobs\/sha256:[0-9a-f]{64} HTTP\/1\.1" 200 /.test(l))).toBe(true);
    });

    if (tls === 'none') {
      it('is refused over https by a daemon without --insecure-registry', async () => {
        const d = await daemon({ network: reg.network, dockerHost: HOST });
        const refused = await d.docker(['pull', `${reg.address}/library/busybox:1`]);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('http: server gave HTTP response to HTTPS client');
      });

      it('serves docker.io pulls as a plain-http mirror, without --insecure-registry', async () => {
        const d = await daemon({ network: reg.network, dockerHost: HOST, args: ['--registry-mirror', reg.url] });
        const log = await logFromNow(reg);
        const pulled = await d.docker(['pull', 'busybox:1']);
        expect(pulled.code, pulled.stderr).toBe(0);
        expect((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:1'])).stdout.trim()).toBe(busyboxId);
        expect(accessLines(await log(), d.ip).some((l) => l.includes('"HEAD /v2/library/busybox/manifests/1 HTTP/1.1" 200 '))).toBe(true);
      });
    }

    if (tls === 'server') {
      it('serves docker.io pulls as a registry mirror, and a mirror failure surfaces as a docker.io error', async () => {
        const dir = await certsDir();
        const d = await daemon({ network: reg.network, certsDir: dir, dockerHost: HOST, args: ['--registry-mirror', reg.url] });
        // Untrusted mirror: dockerd falls back to registry-1.docker.io and reports only that failure.
        const refused = await d.docker(['pull', 'busybox:1']);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('registry-1.docker.io');
        expect(refused.stderr).not.toContain('x509');
        expect(await d.logs()).toContain(`Get \\"${reg.url}/v2/\\": x509: certificate signed by unknown authority`);

        await writeCertsD(dir, certsDFiles(reg));
        const log = await logFromNow(reg);
        const pulled = await d.docker(['pull', 'busybox:1']);
        expect(pulled.code, pulled.stderr).toBe(0);
        expect(pulled.stdout).toContain('docker.io/library/busybox:1');
        expect((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:1'])).stdout.trim()).toBe(busyboxId);
        expect(accessLines(await log(), d.ip).some((l) => l.includes('"HEAD /v2/library/busybox/manifests/1 HTTP/1.1" 200 '))).toBe(true);

        // A tag the mirror lacks: 404 from the mirror, then the (unreachable) docker.io error.
        const missing = await d.docker(['pull', 'busybox:absent']);
        expect(missing.code).not.toBe(0);
        expect(missing.stderr).toContain('registry-1.docker.io');
        expect(accessLines(await log(), d.ip).some((l) => l.includes('"GET /v2/library/busybox/manifests/absent HTTP/1.1" 404 '))).toBe(true);
      });
    }
  });

  it('joins a given network: creates it when missing (and removes it), leaves an existing one', async () => {
    const network = `setup-dind-test-registry-given-${process.pid}`;
    const first = await startRegistry({ alias: 'first.test', port: 5443, tls: 'server', network, dockerHost: HOST });
    registries.push(first);
    const second = await startRegistry({ alias: 'second.test', tls: 'none', network, dockerHost: HOST });
    registries.push(second);
    expect(first.address).toBe('first.test:5443');
    expect(await first.catalog()).toEqual([]);
    expect(await second.catalog()).toEqual([]);
    await stopRegistry(second);
    expect((await dockerOk(HOST!, ['network', 'ls', '-q', '--filter', `name=^${network}$`])).trim()).not.toBe(''); // not second's to remove
    await stopRegistry(first);
    expect((await dockerOk(HOST!, ['network', 'ls', '-q', '--filter', `name=^${network}$`])).trim()).toBe('');
    registryDirs.push(first.dir, second.dir);
  });

  it('leaves nothing behind once every registry is stopped', async () => {
    expect(registries).toEqual([]); // each mode's afterAll stopped its registry
    expect(await stopAll()).toEqual([]);
    expect(await leftovers(HOST)).toEqual({ containers: [], networks: [] });
    expect(registryDirs.length).toBe(5);
    for (const dir of registryDirs) expect(existsSync(dir), dir).toBe(false);
    const tags = (await dockerOk(HOST!, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n');
    expect(tags.filter((t) => seededTags.includes(t))).toEqual([]);
  });
});
