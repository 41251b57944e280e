// BuildKit builds (DOCKER_BUILDKIT=1 docker build, the builder the daemon has built in, with its built-in
// Dockerfile frontend: no `# syntax=` line, which would pull a frontend image) on the job's daemon, pulling the base
// image through a TLS mirror with a private CA: dockerd hands its mirrors and certs.d to its own BuildKit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

const NET = 'sd-e2e-buildkit';
let mirror: TestRegistry;
const work = mkdtempSync(join(tmpdir(), 'sd-buildkit-e2e-'));

beforeAll(async () => {
  mirror = await startRegistry({ alias: 'bk-mirror.test', tls: 'server', network: NET });
  await seedImage(mirror, BUSYBOX, 'library/busybox:1');
});
afterAll(async () => {
  await mirror?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('BuildKit on the job daemon', () => {
  it('DOCKER_BUILDKIT=1 docker build pulls FROM busybox:1 through the TLS mirror and runs the result', async () => {
    const before = await picture();
    const mark = (await mirror.logs()).length;
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      with: { image: DIND_IMAGE, network: NET, 'registry-mirrors': mirror.url, 'registry-certs': `${mirror.address}=${mirror.caFile}` },
      steps: [
        {
          name: 'build',
          run: [
            'mkdir -p ctx',
            `printf 'FROM busybox:1\\nRUN echo built-by-buildkit > /proof\\nCMD ["cat", "/proof"]\\n' > ctx/Dockerfile`,
            'DOCKER_BUILDKIT=1 docker build --progress=plain -t bk/app:1 ctx 2>&1',
            'docker run --rm bk/app:1',
          ].join(' && '),
        },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const out = job.phase('build')!.stdout;
      // BuildKit's plain progress (the classic builder prints "Step 1/3" instead).
      expect(out).toMatch(/#\d+ \[internal\] load build definition from Dockerfile/);
      expect(out).not.toMatch(/Step 1\/3/);
      expect(out.trim().split('\n').at(-1)).toBe('built-by-buildkit');
      expect((await mirror.logs()).slice(mark)).toMatch(/"(GET|HEAD) \/v2\/library\/busybox\/manifests\/1 HTTP\/1.1" 200/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
