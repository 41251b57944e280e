import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineClient } from '../engine/client.js';
import { memoryPlatform } from '../platform/memory.js';
import { dindImageEntry, restoreDindImage, saveDindImage } from './dind-image.js';
import type { CacheSettings } from './settings.js';

const DIGEST = 'a'.repeat(64);
const IMAGE = `docker:29.1.3-dind@sha256:${DIGEST}`;
const OURS = `setup-dind/dind-image:${DIGEST}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dind-image-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An engine that holds `names`; load adds what the archive names, tag adds a name, untag removes one. */
function engine(names: string[]) {
  const calls: string[] = [];
  const fake = {
    imageExists: async (ref: string) => names.includes(ref),
    loadImages: async (tar: Readable) => {
      let text = '';
      for await (const c of tar) text += c.toString();
      names.push(...text.split('\n').filter(Boolean));
      calls.push('load');
    },
    tagImage: async (ref: string, repo: string, tag: string) => {
      if (!names.includes(ref)) throw new Error(`no such image: ${ref}`);
      names.push(`${repo}:${tag}`);
      calls.push(`tag ${ref}`);
    },
    untagImage: async (name: string) => {
      names.splice(names.indexOf(name), 1);
      calls.push(`untag ${name}`);
    },
    exportImages: async (refs: string[]) => Readable.from([`${refs.join('\n')}\n`]),
  };
  return { fake: fake as unknown as EngineClient, names, calls };
}

const settings = (): CacheSettings => ({ strategy: 'images', dir, images: [], save: 'on-success' }) as unknown as CacheSettings;

describe('the dind image in the cache', () => {
  it('is kept only when pinned by digest (a tag moves)', () => {
    expect(dindImageEntry(IMAGE)).toEqual({ key: `setup-dind-dind-image-${process.platform}-${process.arch}-${DIGEST}`, repo: 'setup-dind/dind-image', tag: DIGEST });
    expect(dindImageEntry('docker:29-dind')).toBeUndefined();
    expect(dindImageEntry('local/dind:test')).toBeUndefined();
  });

  it('first job: a miss, the pull, and post saves it; the next job on a fresh engine restores it instead of pulling', async () => {
    const platform = memoryPlatform({ job: { workspace: dir } });
    const first = engine([]);
    const missed = await restoreDindImage(first.fake, IMAGE, settings(), platform);
    expect(missed).toEqual({ record: { image: IMAGE, key: dindImageEntry(IMAGE)!.key, repo: 'setup-dind/dind-image', tag: DIGEST, dir } });
    first.names.push(IMAGE); // the pull
    expect(await saveDindImage(first.fake, missed.record!, platform)).toMatch(/^the dind image: saved setup-dind-dind-image-.* \(\d+\.\d MB\)$/);
    expect(first.calls).toEqual([`tag ${IMAGE}`, `untag ${OURS}`]);
    expect(first.names).toEqual([IMAGE]); // our name is gone again
    expect((await readdir(dir)).length).toBe(1);
    // Entries are immutable: a second save is no new entry.
    expect(await saveDindImage(first.fake, missed.record!, platform)).toMatch(/^the dind image: not saved \(exists/);

    const fresh = engine([]);
    expect(await restoreDindImage(fresh.fake, IMAGE, settings(), platform)).toEqual({ ref: OURS });
    expect(fresh.calls).toEqual(['load']);
    expect(platform.messages.some((m) => /the dind image docker:29\.1\.3-dind@sha256:a+ came from directory .* not from its registry/.test(m.text))).toBe(true);
  });

  it('does nothing when the engine has the image, and runs our name when an earlier job restored it', async () => {
    const platform = memoryPlatform({ job: { workspace: dir } });
    expect(await restoreDindImage(engine([IMAGE]).fake, IMAGE, settings(), platform)).toEqual({});
    expect(await restoreDindImage(engine([OURS]).fake, IMAGE, settings(), platform)).toEqual({ ref: OURS });
    expect(await restoreDindImage(engine([]).fake, 'docker:29-dind', settings(), platform)).toEqual({});
  });

  it('a save that fails says so and never throws', async () => {
    const platform = memoryPlatform({ job: { workspace: dir } });
    const { fake } = engine([]); // the image is not there to tag
    expect(await saveDindImage(fake, { image: IMAGE, key: 'k', repo: 'setup-dind/dind-image', tag: DIGEST, dir }, platform)).toBe(`the dind image: not saved (no such image: ${IMAGE})`);
  });
});
