// Client/API compatibility: the job's daemon accepts the runner's older docker CLI. The bed's CLI is Debian's
// docker.io 20.10 (API 1.41), which a Docker 29.0 daemon refuses by default (its minimum is 1.44). The trixie dind
// image (dockerd 26.1) with DOCKER_MIN_API_VERSION=1.44 in its own environment stands in for such a daemon: the
// action's DOCKER_MIN_API_VERSION must win over it, or the old CLI is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_API_VERSION } from '../../src/daemon/api-version.js';
import { runJob } from '../harness/runner.js';
import { BUSYBOX, actionNode, docker, outerHost, repoRoot, run } from './support.js';

const BASE = 'local/dind:trixie';
const STRICT = 'local/dind:trixie-min-api-1.44';

beforeAll(async () => {
  if (!(await docker(['images', '-q', BASE])).trim()) return;
  const { spawnSync } = await import('node:child_process');
  const built = spawnSync('docker', ['build', '-q', '-t', STRICT, '-'], { input: `FROM ${BASE}\nENV DOCKER_MIN_API_VERSION=1.44\n`, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  if (built.status !== 0) throw new Error(`building ${STRICT} failed: ${built.stderr}`);
});
afterAll(async () => {
  await run('docker', ['rmi', '-f', STRICT], { env: process.env }).catch(() => undefined);
});

describe('client/API compatibility', () => {
  it('an API 1.41 client (docker.io 20.10) uses a daemon whose image refuses clients older than 1.44', async (t) => {
    if (!(await docker(['images', '-q', BASE])).trim()) t.skip(`${BASE} is not on the bed (SETUP_DIND_BED_SUITES="bookworm trixie" bash test/bed/bed.sh start builds it)`);
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      // Debian's docker.io CLI by its path (PATH may hold a newer one).
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), OLD: '/usr/bin/docker' },
      with: { image: STRICT },
      steps: [
        { name: 'versions', run: `"$OLD" version --format '{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}}'` },
        { name: 'use', run: `docker -H "$OUTER" save ${BUSYBOX} | "$OLD" load -q >/dev/null && "$OLD" run --rm ${BUSYBOX} echo ran` },
        // The floor is enforced: one below it is refused, naming it.
        { name: 'floor', run: 'DOCKER_API_VERSION=1.23 "$OLD" version 2>&1 || true' },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const [client, server, min] = job.phase('versions')!.stdout.trim().split(' ');
      expect(client).toBe('1.41');
      expect(Number(server!.split('.')[1])).toBeGreaterThanOrEqual(44);
      expect(min).toBe(MIN_API_VERSION);
      expect(job.phase('use')!.stdout.trim()).toBe('ran');
      expect(job.phase('floor')!.stdout).toMatch(/1\.23 is too old\. Minimum supported API version is 1\.24/);
    } finally {
      await job.cleanup();
    }
  });
});
