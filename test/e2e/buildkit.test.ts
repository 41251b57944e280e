// BuildKit builds (DOCKER_BUILDKIT=1 docker build: the builder dockerd has built in, with its built-in Dockerfile
// frontend; no `# syntax=` line, which would pull a frontend image) on the job's daemon, pulling FROM through the
// job's registry mirrors. The client is Debian's docker 20.10 CLI, which drives BuildKit itself; CLIs from 23.0 on
// hand DOCKER_BUILDKIT=1 builds to the buildx plugin, which the bed does not have (hosted runners do).
//
// What the bed's dockerd 20.10 does: BuildKit builds offline with its built-in frontend and a base image the daemon
// has. Through mirrors its BuildKit fails where `docker pull` and the classic builder succeed (registry.test.ts):
// it asks an http mirror over https, and does not trust a TLS mirror's CA from certs.d. dockerd 26.1 (the bed's
// trixie image) pulls through the TLS mirror with its CA.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobResult, runJob } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

const TRIXIE = 'local/dind:trixie';

const NET = 'sd-e2e-buildkit';
let tlsMirror: TestRegistry;
let plainMirror: TestRegistry;
const work = mkdtempSync(join(tmpdir(), 'sd-buildkit-e2e-'));

beforeAll(async () => {
  tlsMirror = await startRegistry({ alias: 'bk-mirror.test', tls: 'server', network: NET });
  plainMirror = await startRegistry({ alias: 'bk-plain.test', tls: 'none', network: NET });
  await seedImage(tlsMirror, BUSYBOX, 'library/busybox:1');
  await seedImage(plainMirror, BUSYBOX, 'library/busybox:1');
});
afterAll(async () => {
  await Promise.all([tlsMirror?.stop(), plainMirror?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const build = (from: string) =>
  [
    'mkdir -p ctx',
    `printf 'FROM ${from}\\nRUN echo built-by-buildkit > /proof\\nCMD ["cat", "/proof"]\\n' > ctx/Dockerfile`,
    'DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain -t bk/app:1 ctx 2>&1',
    'docker run --rm bk/app:1',
  ].join(' && ');

function buildJob(image: string, registry: Record<string, string>, steps: { name: string; run: string }[]): Promise<JobResult> {
  return runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    // The docker CLI's own files (BuildKit's node id) go to this run's temporary root, not the runner user's home.
    env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), DOCKER_CONFIG: join(work, 'docker-config') },
    with: { image, network: NET, ...registry },
    steps,
  });
}

function expectBuildKitBuilt(job: JobResult): void {
  expect(job.jobStatus, job.log).toBe('success');
  const out = job.phase('build')!.stdout;
  // BuildKit's plain progress (the classic builder prints "Step 1/3" instead).
  expect(out).toMatch(/#\d+ \[internal\] load build definition from Dockerfile/);
  expect(out).not.toMatch(/Step 1\/3/);
  expect(out.trim().split('\n').at(-1)).toBe('built-by-buildkit');
}

describe('BuildKit on the job daemon', () => {
  it('dockerd 20.10 builds with BuildKit offline (built-in Dockerfile frontend, a base image the daemon has)', async () => {
    const before = await picture();
    const job = await buildJob(DIND_IMAGE, {}, [
      { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q` },
      { name: 'build', run: build(BUSYBOX) },
    ]);
    try {
      expectBuildKitBuilt(job);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it("dockerd 20.10's BuildKit and mirrors: an http mirror is asked over https, a TLS mirror's certs.d CA is not trusted", async () => {
    const before = await picture();
    const plain = await buildJob(DIND_IMAGE, { 'registry-mirrors': plainMirror.url, 'insecure-registries': plainMirror.address }, [{ name: 'build', run: build('busybox:1') }]);
    const tls = await buildJob(DIND_IMAGE, { 'registry-mirrors': tlsMirror.url, 'registry-certs': `${tlsMirror.address}=${tlsMirror.caFile}` }, [{ name: 'build', run: build('busybox:1') }]);
    try {
      expect(plain.jobStatus).toBe('failure');
      expect(plain.phase('build')!.stdout).toMatch(/Head "https:\/\/bk-plain\.test:5000\/v2\/library\/busybox\/manifests\/1\?ns=docker\.io": http: server gave HTTP response to HTTPS client/);
      expect(tls.jobStatus).toBe('failure');
      expect(tls.phase('build')!.stdout).toMatch(/bk-mirror\.test:5000\/v2\/library\/busybox\/manifests\/1\?ns=docker\.io.*x509: certificate signed by unknown authority/);
      await expectNothingLeft(before);
    } finally {
      await Promise.all([plain.cleanup(), tls.cleanup()]);
    }
  });

  // dockerd 26.1 (Debian trixie's docker.io, which the bed builds beside bookworm's by default).
  it('local/dind:trixie: BuildKit pulls FROM busybox:1 through the TLS mirror with its private CA', async (ctx) => {
    if (!(await docker(['images', '-q', TRIXIE]).catch(() => '')).trim()) ctx.skip(`${TRIXIE} is not built (SETUP_DIND_BED_SUITES="bookworm trixie")`);
    const image = TRIXIE;
    const before = await picture();
    const mark = (await tlsMirror.logs()).length;
    const job = await buildJob(image, { 'registry-mirrors': tlsMirror.url, 'registry-certs': `${tlsMirror.address}=${tlsMirror.caFile}` }, [{ name: 'build', run: build('busybox:1') }]);
    try {
      expectBuildKitBuilt(job);
      expect((await tlsMirror.logs()).slice(mark)).toMatch(/"(GET|HEAD) \/v2\/library\/busybox\/manifests\/1(\?ns=docker\.io)? HTTP\/1.1" 200/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
