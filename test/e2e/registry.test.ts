// Registry mirrors, private CAs, mutual TLS and insecure registries, end to end: real registries (Debian's
// docker-registry) on a test network, the action's dind daemon attached to it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { generateTls } from '../../src/endpoint/tls.js';
import { type JobResult, runJob, type RunJobOptions } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

const NET = 'sd-e2e-registries';
let tlsRegistry: TestRegistry;
let mtlsRegistry: TestRegistry;
let httpRegistry: TestRegistry;
const work = mkdtempSync(join(tmpdir(), 'sd-registry-e2e-'));

beforeAll(async () => {
  tlsRegistry = await startRegistry({ alias: 'registry.test', tls: 'server', network: NET });
  mtlsRegistry = await startRegistry({ alias: 'mtls.test', tls: 'mutual', network: NET });
  httpRegistry = await startRegistry({ alias: 'plain.test', tls: 'none', network: NET });
  // The mirror holds docker.io's library/busybox:1 (our local busybox).
  await seedImage(tlsRegistry, BUSYBOX, 'library/busybox:1');
});

afterAll(async () => {
  await Promise.all([tlsRegistry?.stop(), mtlsRegistry?.stop(), httpRegistry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

function dindJob(options: Partial<RunJobOptions> & { with?: Record<string, string> }): Promise<JobResult> {
  return runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
    ...options,
    with: { image: DIND_IMAGE, network: NET, ...options.with },
  });
}

const logSince = async (registry: TestRegistry, mark: number) => (await registry.logs()).slice(mark);

describe('registry mirrors and certificates (dind)', () => {
  it('pulls docker.io images through a TLS mirror with a private CA, past a mirror that is down', async () => {
    const before = await picture();
    const mark = (await tlsRegistry.logs()).length;
    const job = await dindJob({
      with: {
        // The first mirror answers nothing (port 1 on the daemon's own loopback): pulls must go on to the next.
        'registry-mirrors': `https://127.0.0.1:1\n${tlsRegistry.url}`,
        'registry-certs': `${tlsRegistry.address}=${tlsRegistry.caFile}`,
      },
      steps: [
        { name: 'pull', run: 'docker pull busybox:1 && docker run --rm busybox:1 echo through-the-mirror' },
        { name: 'buildkit', run: 'cat "$BUILDKITD_CONFIG"', env: { BUILDKITD_CONFIG: '${{ steps.action.outputs.buildkitd-config }}' } },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('pull')!.stdout).toContain('through-the-mirror');
      expect(await logSince(tlsRegistry, mark)).toMatch(/"HEAD \/v2\/library\/busybox\/manifests\/1 HTTP\/1.1" 200/);
      const toml = parseToml(job.phase('buildkit')!.stdout) as { registry: Record<string, { mirrors?: string[]; ca?: string[] }> };
      expect(toml.registry['docker.io']!.mirrors).toEqual(['127.0.0.1:1', tlsRegistry.address]);
      expect(toml.registry[tlsRegistry.address]!.ca![0]).toMatch(/certs\.d\/registry\.test:5000\/ca\.crt$/);
      expect(job.summary).toMatch(/Registry mirrors/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('pushes to and pulls from a private registry by host:port with its CA', async () => {
    const before = await picture();
    const job = await dindJob({
      with: { 'registry-certs': `${tlsRegistry.address}=${tlsRegistry.caFile}` },
      steps: [
        {
          name: 'push-pull',
          run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q && docker tag ${BUSYBOX} ${tlsRegistry.address}/team/app:1 && docker push -q ${tlsRegistry.address}/team/app:1 && docker rmi ${tlsRegistry.address}/team/app:1 ${BUSYBOX} && docker pull -q ${tlsRegistry.address}/team/app:1`,
        },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      await expectNothingLeft(before);
      expect(await tlsRegistry.catalog()).toContain('team/app');
    } finally {
      await job.cleanup();
    }
  });

  it('uses a client certificate for mutual TLS, given inline from a secret, and masks the key', async () => {
    const before = await picture();
    const inline = `${mtlsRegistry.caPem!.trim()}\n${mtlsRegistry.clientCertPem!.trim()}\n${mtlsRegistry.clientKeyPem!.trim()}`;
    const keyLine = mtlsRegistry.clientKeyPem!.trim().split('\n')[1]!;
    const job = await dindJob({
      with: { 'registry-certs': `${mtlsRegistry.address}=${inline}` },
      steps: [
        {
          name: 'mtls',
          run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q && docker tag ${BUSYBOX} ${mtlsRegistry.address}/team/mtls:1 && docker push -q ${mtlsRegistry.address}/team/mtls:1 && docker rmi ${mtlsRegistry.address}/team/mtls:1 && docker pull -q ${mtlsRegistry.address}/team/mtls:1 && stat -c %a "$RUNNER_TEMP"/setup-dind-*/certs.d/${mtlsRegistry.address}/client.key`,
        },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('mtls')!.stdout.trim().split('\n').at(-1)).toBe('600');
      expect(job.masks.some((m) => m.includes(keyLine))).toBe(true);
      // The runner echoes `with:` before the action runs (a real secret is masked there by the runner itself);
      // nothing the action prints may contain the key.
      // (the ::add-mask:: commands carry it by necessity; the runner never shows them)
      for (const phase of ['pre', 'main', 'post']) {
        const shown = (job.phase(phase)!.stdout + job.phase(phase)!.stderr).split('\n').filter((l) => !l.startsWith('::add-mask::'));
        expect(shown.join('\n')).not.toContain(keyLine);
      }
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('reaches a plain-HTTP registry listed in insecure-registries', async () => {
    const job = await dindJob({
      with: { 'insecure-registries': httpRegistry.address },
      steps: [{ name: 'http', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q && docker tag ${BUSYBOX} ${httpRegistry.address}/plain/app:1 && docker push -q ${httpRegistry.address}/plain/app:1 && docker pull -q ${httpRegistry.address}/plain/app:1` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(await httpRegistry.catalog()).toContain('plain/app');
    } finally {
      await job.cleanup();
    }
  });

  it('reads a certificate from the workspace in main, after checkout', async () => {
    const job = await dindJob({
      with: { 'registry-certs': `${tlsRegistry.address}=certs/registry-ca.pem` },
      stepsBefore: [{ name: 'checkout', run: `mkdir -p certs && cp ${tlsRegistry.caFile} certs/registry-ca.pem` }],
      steps: [{ name: 'pull', run: `docker pull -q ${tlsRegistry.address}/library/busybox:1` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
    } finally {
      await job.cleanup();
    }
  });
});

describe('bad registry inputs: a clear error, nothing started, nothing left', () => {
  const cases: [string, () => Record<string, string>, RegExp][] = [
    ['a CA file that is not PEM', () => {
      writeFileSync(join(work, 'not-pem.crt'), 'hello, I am not a certificate\n');
      return { 'registry-certs': `registry.test:5000=${join(work, 'not-pem.crt')}` };
    }, /input "registry-certs".*not-pem\.crt/],
    ['an expired certificate', () => {
      const old = generateTls({ serverNames: ['registry.test'], now: new Date('2020-01-01T00:00:00Z'), validDays: 1 });
      writeFileSync(join(work, 'expired.pem'), old.caCert);
      return { 'registry-certs': `registry.test:5000=${join(work, 'expired.pem')}` };
    }, /input "registry-certs".*expired.*2020-01-02/],
    ['a client key that does not match its certificate', () => {
      const a = generateTls({ serverNames: ['x'] });
      const b = generateTls({ serverNames: ['x'] });
      const dir = join(work, 'mismatch');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ca.crt'), a.caCert);
      writeFileSync(join(dir, 'client.cert'), a.clientCert);
      writeFileSync(join(dir, 'client.key'), b.clientKey);
      return { 'registry-certs': `registry.test:5000=${dir}/` };
    }, /input "registry-certs".*(does not match|not match)/],
    ['an http mirror that is not listed as insecure', () => ({ 'registry-mirrors': 'http://mirror.test:5000' }), /input "registry-mirrors": "http:\/\/mirror\.test:5000".*insecure-registries/],
    ['a host with a scheme', () => ({ 'registry-certs': 'https://registry.test=/x.pem' }), /input "registry-certs".*https:\/\/registry\.test/],
  ];
  for (const [name, make, message] of cases) {
    it(name, async () => {
      const before = await picture();
      const job = await dindJob({ with: make(), steps: [{ name: 'never', run: 'true' }] });
      try {
        expect(job.jobStatus).toBe('failure');
        const pre = job.phase('pre')!;
        expect(pre.stdout).toMatch(message);
        expect(pre.stdout).toMatch(/Nothing was started/);
        expect(job.phase('never')!.ran).toBe(false);
        await expectNothingLeft(before);
        expect(readdirSync(job.runnerTemp).filter((f) => f.startsWith('setup-dind'))).toEqual([]);
      } finally {
        await job.cleanup();
      }
    });
  }
});

describe('socket mode', () => {
  it("installs certificates into the runner's certs.d and restores it exactly", async () => {
    const certsDir = join(work, 'host-certs.d');
    const existing = join(certsDir, 'other.test');
    mkdirSync(existing, { recursive: true });
    writeFileSync(join(existing, 'ca.crt'), 'kept as is');
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost(), SETUP_DIND_HOST_CERTS_DIR: certsDir },
      with: { mode: 'socket', 'registry-certs': `${tlsRegistry.address}=${tlsRegistry.caFile}\nother.test=${tlsRegistry.caFile}` },
      steps: [{ name: 'during', run: `ls "${certsDir}"; cat "${certsDir}/other.test/ca.crt" | head -1` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('during')!.stdout).toMatch(/other\.test\nregistry\.test:5000\n-----BEGIN CERTIFICATE-----/);
      expect(readdirSync(certsDir)).toEqual(['other.test']);
      expect(readFileSync(join(existing, 'ca.crt'), 'utf8')).toBe('kept as is');
      expect(existsSync(join(certsDir, tlsRegistry.address))).toBe(false);
    } finally {
      await job.cleanup();
    }
  });

  it("configure-host merges mirrors into the runner daemon's daemon.json, reloads it, and restores both", async () => {
    // A runner daemon of our own (in its own network namespace), started with an explicit config file and pid file.
    const dir = join(work, 'host-daemon');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'daemon.json');
    const original = '{ "debug": false }\n';
    writeFileSync(config, original);
    const host = `unix://${dir}/docker.sock`;
    const daemon = spawn('unshare', ['--net', '--', 'dockerd', '--host', host, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`,
      '--pidfile', `${dir}/docker.pid`, '--config-file', config, '--bridge=none', '--iptables=false', '--ip6tables=false'], { stdio: 'ignore' });
    const mirrors = async () => (await docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}'], { host }).catch(() => 'down')).trim();
    try {
      await expect.poll(mirrors, { timeout: 20_000 }).toBe('[]');
      const job = await runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        env: { DOCKER_HOST: host, SETUP_DIND_HOST_DAEMON_JSON: config, SETUP_DIND_HOST_DOCKERD_PIDFILE: `${dir}/docker.pid` },
        with: { mode: 'socket', 'registry-mirrors': 'https://mirror.test', 'configure-host': 'true' },
        steps: [{ name: 'mirrors', run: "sleep 0.5; docker info --format '{{json .RegistryConfig.Mirrors}}'" }],
      });
      try {
        expect(job.jobStatus, job.log).toBe('success');
        expect(job.phase('mirrors')!.stdout.trim()).toBe('["https://mirror.test/"]');
        expect(readFileSync(config, 'utf8')).toBe(original);
        await expect.poll(mirrors, { timeout: 10_000 }).toBe('[]');
      } finally {
        await job.cleanup();
      }
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => (daemon.exitCode === null ? daemon.once('exit', resolve) : resolve(undefined)));
    }
  });
});
