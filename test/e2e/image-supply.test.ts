// The dind image's supply on the bed: a registry (Debian's docker-registry, test/e2e/registry-fixture.ts) holding the
// bed's dind image, and a small proxy in front of it that answers 429 for the first manifest requests, or asks for
// basic credentials. The action's pull must retry through the rate limit, use the runner's docker login or the
// image-username/image-password inputs, and fall back to image-mirror when the image's own registry is unreachable.
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, type JobResult, type RunJobOptions } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

let registry: TestRegistry;
const proxies: Server[] = [];
const pulledTags: string[] = [];

interface Proxy {
  port: number;
  seen: { path: string; status: number; authorized: boolean }[];
}

/**
 * A proxy to the registry: manifest requests answered 429 for `limitMs` after the first one (dockerd asks more than
 * once per pull; the action waits 2 s before its second attempt); with `credentials`, 401 without them.
 */
async function proxy(options: { limitMs?: number; credentials?: string }): Promise<Proxy> {
  const seen: Proxy['seen'] = [];
  let firstManifest: number | undefined;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const authorized = !options.credentials || req.headers.authorization === `Basic ${Buffer.from(options.credentials).toString('base64')}`;
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      seen.push({ path, status, authorized });
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
    };
    if (!authorized) return answer(401, { 'WWW-Authenticate': 'Basic realm="setup-dind-test"' }, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    if (path.includes('/manifests/') && options.limitMs && Date.now() - (firstManifest ??= Date.now()) < options.limitMs) {
      return answer(429, {}, '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}');
    }
    const upstream = request({ host: '127.0.0.1', port: registry.hostPort, method: req.method, path, headers: { ...req.headers, host: `127.0.0.1:${registry.hostPort}` } }, (up) => {
      seen.push({ path, status: up.statusCode ?? 0, authorized });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => answer(502, {}, JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: e.message }] })));
    req.pipe(upstream);
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

beforeAll(async () => {
  registry = await startRegistry({ alias: 'supply.test', tls: 'none' });
  await seedImage(registry, DIND_IMAGE, 'library/sd-dind:1');
  await seedImage(registry, DIND_IMAGE, 'sdtest/sd-dind:1');
}, 300_000);

afterAll(async () => {
  for (const tag of pulledTags) await docker(['rmi', '--no-prune', tag]).catch(() => undefined);
  await Promise.all(proxies.map((s) => new Promise((r) => s.close(r))));
  await registry?.stop();
});

function job(image: string, options: Partial<RunJobOptions> & { with?: Record<string, string> } = {}): Promise<JobResult> {
  pulledTags.push(image);
  return runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    ...options,
    env: { DOCKER_HOST: outerHost(), ...options.env },
    with: { image, ...options.with },
    steps: [{ name: 'ok', run: 'docker version --format "{{.Server.Version}}"' }],
  });
}

describe('the dind image supply', () => {
  it('retries through a registry\'s pull rate limit (429, then 200), saying so', async () => {
    const p = await proxy({ limitMs: 1500 });
    const before = await picture();
    const image = `127.0.0.1:${p.port}/library/sd-dind:1`;
    const result = await job(image);
    try {
      expect(result.jobStatus, result.log).toBe('success');
      expect(p.seen.filter((s) => s.status === 429).length).toBeGreaterThanOrEqual(1);
      expect(result.phase('pre')!.stdout).toMatch(/Pulling .*sd-dind:1: the registry's pull rate limit \(429 Too Many Requests\); attempt 2 of 3 in 2 s/);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });

  it('fails naming the rate limit and the remedy when the limit does not lift', async () => {
    const p = await proxy({ limitMs: 600_000 });
    const before = await picture();
    const result = await job(`127.0.0.1:${p.port}/library/sd-dind:1`);
    try {
      expect(result.jobStatus).toBe('failure');
      expect(result.log).toMatch(/could not pull the dind image: .*refused more pulls: its pull rate limit \(429 Too Many Requests\).*docker login.*image-username and image-password.*image-mirror/);
      expect(p.seen.filter((s) => s.status === 429).length).toBeGreaterThanOrEqual(3);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });

  it('pulls through image-mirror when the image\'s registry cannot be reached', async () => {
    const before = await picture();
    const mirror = `http://127.0.0.1:${registry.hostPort}`;
    pulledTags.push(`127.0.0.1:${registry.hostPort}/sdtest/sd-dind:1`);
    const result = await job('sdtest/sd-dind:1', { with: { 'image-mirror': mirror } });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      expect(result.phase('pre')!.stdout).toMatch(new RegExp(`Pulled the dind image through the mirror ${mirror} \\(127.0.0.1:${registry.hostPort}/sdtest/sd-dind:1\\)`));
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });

  it('uses the runner\'s docker login, or image-username and image-password (masked)', async () => {
    const p = await proxy({ credentials: 'sd-user:sd-pass' });
    const image = `127.0.0.1:${p.port}/library/sd-dind:1`;
    const anonymous = await job(image);
    try {
      expect(anonymous.jobStatus).toBe('failure');
      expect(anonymous.log).toMatch(/could not pull the dind image: .*(unauthorized|authentication required|no basic auth credentials).*check that .* exists and that this runner may pull it/);
    } finally {
      await anonymous.cleanup();
    }
    await docker(['rmi', '--no-prune', image]).catch(() => undefined);
    const config = mkdtempSync(join(tmpdir(), 'sd-login-'));
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [`127.0.0.1:${p.port}`]: { auth: Buffer.from('sd-user:sd-pass').toString('base64') } } }));
    const loggedIn = await job(image, { env: { DOCKER_CONFIG: config } });
    try {
      expect(loggedIn.jobStatus, loggedIn.log).toBe('success');
      expect(loggedIn.phase('pre')!.stdout).toMatch(/with credentials from auths in .*config.json/);
    } finally {
      await loggedIn.cleanup();
    }
    await docker(['rmi', '--no-prune', image]).catch(() => undefined);
    const explicit = await job(image, { with: { 'image-username': 'sd-user', 'image-password': 'sd-pass' } });
    try {
      expect(explicit.jobStatus, explicit.log).toBe('success');
      expect(explicit.phase('pre')!.stdout).toMatch(/with credentials from inputs image-username and image-password/);
      // Masked: the runner hides it from every later line (the harness's log keeps the add-mask command itself).
      expect(explicit.log).toContain('::add-mask::sd-pass');
      expect(explicit.log.replaceAll('::add-mask::sd-pass', '')).not.toContain('sd-pass');
      expect(p.seen.some((s) => s.authorized && s.path.includes('/manifests/'))).toBe(true);
    } finally {
      await explicit.cleanup();
    }
  });
});
