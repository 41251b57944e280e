// The dind image in the image cache, on the bed: a registry (test/e2e/registry-fixture.ts) serves the bed's dind
// image, pinned by digest. The first job pulls it and post saves it into the cache directory; then the engine loses
// the image and the registry goes away: the second job must get the image from the cache, with no pull.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { type TestRegistry, seedImage, startRegistry } from './registry-fixture.js';
import { DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot } from './support.js';

let registry: TestRegistry | undefined;
let image: string;
let digest: string;
const work = mkdtempSync(join(tmpdir(), 'sd-dind-image-cache-'));

beforeAll(async () => {
  registry = await startRegistry({ alias: 'imagecache.test', tls: 'none' });
  await seedImage(registry, DIND_IMAGE, 'library/sd-cached-dind:1');
  const tag = `127.0.0.1:${registry.hostPort}/library/sd-cached-dind:1`;
  await docker(['pull', '-q', tag]);
  const repoDigest = (await docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', tag])).trim();
  digest = repoDigest.slice(repoDigest.indexOf('@sha256:') + '@sha256:'.length);
  image = `${tag}@sha256:${digest}`;
  // The engine has the image's layers (local/dind:test), but not the image by this name: a job must pull it.
  await docker(['rmi', '--no-prune', tag]);
  await docker(['rmi', '--no-prune', repoDigest]).catch(() => undefined); // gone with the repository's last tag as a rule
  if ((await docker(['images', '-q', image])).trim()) throw new Error(`${image} is still on the engine`);
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  for (const name of [image, `setup-dind/dind-image:${digest}`]) if (name) await docker(['rmi', '--no-prune', name]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const job = () =>
  runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    env: { DOCKER_HOST: outerHost() },
    with: { image, cache: 'images', 'cache-dir': join(work, 'cache') },
    steps: [{ name: 'ok', run: 'docker version --format "{{.Server.Version}}"' }],
  });

describe('the dind image in the image cache', () => {
  it('the first job pulls it and post saves it; the next one, with the image gone and no registry, restores it', async () => {
    const before = await picture();
    const first = await job();
    try {
      expect(first.jobStatus, first.log).toBe('success');
      expect(first.phase('pre')!.stdout).not.toMatch(/came from directory/);
      expect(first.phase('post')!.stdout).toMatch(/setup-dind cache: the dind image: saved setup-dind-dind-image-linux-\w+-[a-f0-9]{64} \(\d+\.\d MB\)\./);
      // Under the job's ref, as every cache-dir entry (<cache-dir>/<protected|unprotected>/<ref>/<key>.tar.zst).
      expect(readdirSync(join(work, 'cache'), { recursive: true }).map(String).some((f) => /^(un)?protected\/[^/]+\/setup-dind-dind-image-/.test(f))).toBe(true);
      // Post's name for the save is gone again: the engine holds the image only under the reference it pulled.
      expect((await docker(['images', '-q', `setup-dind/dind-image:${digest}`])).trim()).toBe('');
      await expectNothingLeft(before);
    } finally {
      await first.cleanup();
    }
    await docker(['rmi', '--no-prune', image]);
    await registry!.stop();
    registry = undefined;
    const second = await job();
    try {
      expect(second.jobStatus, second.log).toBe('success');
      expect(second.phase('pre')!.stdout).toMatch(/setup-dind cache: the dind image 127\.0\.0\.1:\d+\/library\/sd-cached-dind:1@sha256:[a-f0-9]{64} came from directory .* \(\d+\.\d MB in \d+\.\d\d s\), not from its registry\./);
      expect(second.phase('pre')!.stdout).not.toMatch(/Pulling/);
      // Nothing to save again: the image did not have to be pulled.
      expect(second.phase('post')!.stdout).not.toMatch(/the dind image: saved/);
      await expectNothingLeft(before);
    } finally {
      await second.cleanup();
    }
  });
});
