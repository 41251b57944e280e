// A GitHub container job (`container:` with the host's socket mounted): the action runs inside the job container,
// its paths differ from the host's, and the runner's own `docker exec` must keep working for every later step.
import { describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

describe('dind in a container job', () => {
  for (const tcp of ['false', 'true']) {
    it(`gives the job container its own daemon (tcp: ${tcp}) and leaves nothing`, async () => {
      const before = await picture();
      const job = await runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        container: { image: DIND_IMAGE, dockerHost: outerHost() },
        with: { image: DIND_IMAGE, tcp },
        steps: [
          // Inside the job container, /var/run/docker.sock is the runner's engine; plain `docker` is the job's daemon.
          { name: 'load', run: `docker -H unix:///var/run/docker.sock save ${BUSYBOX} | docker load -q` },
          { name: 'nested', run: `docker run --rm ${BUSYBOX} echo in-container-job; docker context ls --format '{{.Name}} {{.Current}}'` },
          { name: 'isolated', run: 'docker ps -aq | wc -l; echo "DOCKER_HOST=${DOCKER_HOST:-unset}"' },
        ],
      });
      try {
        expect(job.jobStatus, job.log).toBe('success');
        expect(job.phase('main')!.stdout).toMatch(/this is a container job/);
        expect(job.phase('nested')!.stdout).toContain('in-container-job');
        expect(job.phase('nested')!.stdout).toMatch(/setup-dind true/);
        expect(job.phase('isolated')!.stdout).toMatch(/^0\nDOCKER_HOST=unset$/m);
        expect(job.exportedEnv.DOCKER_HOST).toBeUndefined();
        // In a container job a TCP daemon is reached by name on the job's network; its socket through the /__w mount.
        expect(job.outputs['docker-host']).toMatch(tcp === 'true' ? /^tcp:\/\/setup-dind-[a-z0-9-]+:2376$/ : /^unix:\/\/\/__w\/_temp\/setup-dind-/);
        expect(job.phase('post')!.stdout).not.toMatch(/::warning::/);
        await expectNothingLeft(before);
      } finally {
        await job.cleanup();
      }
    });
  }
});
