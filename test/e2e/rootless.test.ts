// A rootless dind image on the bed: local/dind:rootless (test/bed/bed.sh) is built like docker:dind-rootless (user
// "rootless" with subordinate ids, an entrypoint that runs dockerd under rootlesskit and slirp4netns). The action
// must keep that entrypoint and user. On this bed the engine lets the container map its user namespace, but the
// host's /dev/net/tun is 0600 (root only), so rootlesskit cannot create its network device: main must fail with
// that remedy, and post must leave nothing. Where the host's /dev/net/tun is usable (0666, as most distributions
// ship it), the same job is expected to get a running rootless daemon.
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

const ROOTLESS = 'local/dind:rootless';

describe('a rootless dind image', () => {
  it("runs with its own entrypoint and user; a host whose /dev/net/tun the image's user cannot open gets the remedy", async (t) => {
    if (!(await docker(['images', '-q', ROOTLESS])).trim()) t.skip(`${ROOTLESS} is not on the bed (test/bed/bed.sh start builds it with the bookworm images)`);
    const tunUsable = (statSync('/dev/net/tun').mode & 0o006) === 0o006;
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      // The image's name says it: no rootless input needed.
      with: { image: ROOTLESS, 'wait-timeout': '60' },
      steps: [{ name: 'use', run: 'docker info --format "{{.SecurityOptions}}" && docker run --rm local/busybox:1 true 2>&1 || true' }],
    });
    try {
      const log = job.phase('main')!.stdout;
      // The image's own entrypoint ran (rootlesskit's messages), not the action's init (its first line names iptables).
      expect(job.log).not.toMatch(/setup-dind: iptables v/);
      if (tunUsable) {
        expect(job.jobStatus, job.log).toBe('success');
        expect(job.phase('use')!.stdout).toContain('rootless');
      } else {
        expect(job.jobStatus, job.log).toBe('failure');
        expect(log).toMatch(/::error::setup-dind: the dind daemon (at tcp:\/\/127\.0\.0\.1:\d+ )?will not become ready: its container exited with code 1: rootlesskit could not set up its network: \/dev\/net\/tun on the engine's host must be usable by the image's user .*chmod 0666 \/dev\/net\/tun.*rootless: false/);
        expect(job.log).toMatch(/\[rootlesskit:parent\] error: failed to setup network/);
      }
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('the input refuses what a rootless daemon cannot honour, before anything starts', async () => {
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      with: { image: 'local/dind:test', rootless: 'true', cache: 'data-root', 'cache-dir': '/nonexistent-cache-dir' },
    });
    try {
      expect(job.jobStatus, job.log).toBe('failure');
      expect(job.phase('pre')!.stdout).toMatch(/input "cache": "data-root" snapshots a root daemon's \/var\/lib\/docker, and image "local\/dind:test" runs rootless; use cache: images, or the root dind image[\s\S]*Nothing was started/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
