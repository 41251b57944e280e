// buildx: true on the bed. No registry here serves moby/buildkit, and Debian packages no buildkitd (bookworm has
// neither buildx nor BuildKit; trixie only the buildx client plugin), so the builder's success path cannot run on
// the bed. What can: the builder image that cannot be had fails main with what to do, and with an image present
// a runner CLI without the buildx plugin fails it with the remedy; post cleans up either way.
import { describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

// bookworm's Docker 20.10, and sid's 28.5 with its own CLI and buildx 0.29 (client: true) when the bed has it.
const IMAGES: Record<string, string>[] = [{ image: DIND_IMAGE }, { image: 'local/dind:sid', client: 'true' }];

describe('buildx: true', () => {
  it.for(IMAGES)('$image: a builder image the job daemon cannot pull fails main with the remedy; post removes everything', async (inputs, t) => {
    if (!(await docker(['images', '-q', inputs.image!]).catch(() => '')).trim()) t.skip(`${inputs.image} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      with: { ...inputs, buildx: 'true' },
      steps: [{ name: 'after', run: 'echo should-not-run' }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('failure');
      const main = job.phase('main')!.stdout;
      expect(main).toMatch(/::error::setup-dind: buildx: the builder image moby\/buildkit:buildx-stable-1 could not be had on the job's daemon \(.+\)\. The docker-container builder runs BuildKit from that image: let the daemon pull it \(registry-mirrors/);
      expect(main).toMatch(/set buildx-image to an image you provide; or remove buildx/);
      expect(job.log).not.toMatch(/^should-not-run$/m);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('with the image present but no buildx plugin on the runner: the remedy, and post still cleans up', async () => {
    const before = await picture();
    // socket mode: the job's daemon is the bed's, which has the busybox image (standing in for the builder image
    // only to get past the image step: the create fails before anything runs it).
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      with: { mode: 'socket', buildx: 'true', 'buildx-image': BUSYBOX },
    });
    try {
      expect(job.jobStatus, job.log).toBe('failure');
      expect(job.phase('main')!.stdout).toMatch(/::error::setup-dind: buildx: the docker CLI has no buildx plugin \(.*buildx.*\); install it \(docker\/setup-buildx-action does\) or remove buildx/);
      expect(job.phase('post')!.stdout).toMatch(/setup-dind: docker buildx rm setup-dind-\S+: /);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
