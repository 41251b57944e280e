// BuildKit builds (DOCKER_BUILDKIT=1 docker build: the builder dockerd has built in, with its built-in Dockerfile
// frontend; no `# syntax=` line, which would pull a frontend image) on the job's daemon, pulling FROM through the
// job's registry mirrors. The client is Debian's docker 20.10 CLI, which drives BuildKit itself; CLIs from 23.0 on
// hand DOCKER_BUILDKIT=1 builds to the buildx plugin, which the bed does not have (hosted runners do).
//
// What the bed's dockerd 20.10 does: its BuildKit pulls through a mirror, but does not trust a mirror's CA from
// certs.d (the classic builder and `docker pull` do, see registry.test.ts): a TLS mirror with a private CA fails
// with x509 there. The default image (docker:29-dind) is not on the bed; README says what to expect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobResult, runJob } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

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

const BUILD = [
  'mkdir -p ctx',
  `printf 'FROM busybox:1\\nRUN echo built-by-buildkit > /proof\\nCMD ["cat", "/proof"]\\n' > ctx/Dockerfile`,
  'DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain -t bk/app:1 ctx 2>&1',
  'docker run --rm bk/app:1',
].join(' && ');

function buildJob(registry: Record<string, string>): Promise<JobResult> {
  return runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    env: { DOCKER_HOST: outerHost() },
    with: { image: DIND_IMAGE, network: NET, ...registry },
    steps: [{ name: 'build', run: BUILD }],
  });
}

describe('BuildKit on the job daemon (dockerd 20.10)', () => {
  it('DOCKER_BUILDKIT=1 docker build pulls FROM busybox:1 through an http mirror (insecure-registries) and runs the result', async () => {
    const before = await picture();
    const mark = (await plainMirror.logs()).length;
    const job = await buildJob({ 'registry-mirrors': plainMirror.url, 'insecure-registries': plainMirror.address });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const out = job.phase('build')!.stdout;
      // BuildKit's plain progress (the classic builder prints "Step 1/3" instead).
      expect(out).toMatch(/#\d+ \[internal\] load build definition from Dockerfile/);
      expect(out).not.toMatch(/Step 1\/3/);
      expect(out.trim().split('\n').at(-1)).toBe('built-by-buildkit');
      expect((await plainMirror.logs()).slice(mark)).toMatch(/"(GET|HEAD) \/v2\/library\/busybox\/manifests\/1(\?ns=docker\.io)? HTTP\/1.1" 200/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it("a TLS mirror with a private CA: 20.10's BuildKit does not trust the CA from certs.d (x509), as documented", async () => {
    const before = await picture();
    const job = await buildJob({ 'registry-mirrors': tlsMirror.url, 'registry-certs': `${tlsMirror.address}=${tlsMirror.caFile}` });
    try {
      expect(job.jobStatus).toBe('failure');
      expect(job.phase('build')!.stdout).toMatch(/load metadata for docker\.io\/library\/busybox:1[\s\S]*bk-mirror\.test:5000\/v2\/library\/busybox\/manifests\/1\?ns=docker\.io.*x509: certificate signed by unknown authority/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
