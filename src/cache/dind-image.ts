// The dind image in the image cache: a job whose engine lacks the daemon's image restores it from the cache instead
// of pulling it. Only an image pinned by digest (the default is): a tag moves, and an entry, once written, would keep
// the first image for ever. One entry per digest, saved by post of the first job that had to pull it; the image
// carries a name of ours in it (docker save keeps no digest reference), which pre then runs.
import type { EngineClient } from '../engine/client.js';
import { parseReference } from '../image/reference.js';
import type { Platform } from '../platform/platform.js';
import { backendFor, cacheDeadlineMs, cacheDir, mb, withDeadline } from './cache.js';
import type { CacheSettings } from './settings.js';

/** What post needs to save the image: recorded in state once pre has pulled it. */
export interface DindImageRecord {
  image: string;
  key: string;
  /** The name the entry carries the image under: repo:tag. */
  repo: string;
  tag: string;
  dir?: string;
}

const REPO = 'setup-dind/dind-image';

/** The entry's key and the image's name in it, for a reference pinned by digest; undefined otherwise. */
export function dindImageEntry(image: string): { key: string; repo: string; tag: string } | undefined {
  const digest = parseReference(image).digest;
  if (!digest || !/^sha256:[a-f0-9]{64}$/.test(digest)) return undefined;
  const hex = digest.slice('sha256:'.length);
  return { key: `setup-dind-dind-image-${process.platform}-${process.arch}-${hex}`, repo: REPO, tag: hex };
}

/**
 * pre, before the pull: the reference to run when the cache supplies the image (already there from an earlier job,
 * or restored now); else the record post saves from once the pull has brought it. Every failure is a warning.
 */
export async function restoreDindImage(engine: EngineClient, image: string, settings: CacheSettings, platform: Platform): Promise<{ ref?: string; record?: DindImageRecord }> {
  const entry = dindImageEntry(image);
  if (!entry || (await engine.imageExists(image))) return {};
  const ours = `${entry.repo}:${entry.tag}`;
  if (await engine.imageExists(ours)) return { ref: ours };
  const dir = cacheDir(settings, platform);
  const backend = backendFor(dir, platform);
  if (!backend) return {};
  const record: DindImageRecord = { image, ...entry, ...(dir ? { dir } : {}) };
  const started = performance.now();
  try {
    const restored = await withDeadline(backend.restore(entry.key, [], (tar) => engine.loadImages(tar.stream())), cacheDeadlineMs(platform.env), `restoring the dind image from ${backend.name}`);
    if (restored && (await engine.imageExists(ours))) {
      platform.log.info(`setup-dind cache: the dind image ${image} came from ${backend.name} (${mb(restored.bytes)} in ${((performance.now() - started) / 1000).toFixed(2)} s), not from its registry.`);
      return { ref: ours };
    }
  } catch (e) {
    await backend.abandon?.().catch(() => undefined);
    platform.log.warning(`setup-dind cache: the dind image could not be restored from ${backend.name} (${(e as Error).message}); it is pulled.`);
  }
  return { record };
}

/** post: the image pre pulled goes into its entry (once: entries are immutable). Never throws; says what happened. */
export async function saveDindImage(engine: EngineClient, record: DindImageRecord, platform: Platform): Promise<string> {
  const backend = backendFor(record.dir, platform);
  if (!backend) return 'the dind image: not saved, no cache backend';
  try {
    await engine.tagImage(record.image, record.repo, record.tag);
    const name = `${record.repo}:${record.tag}`;
    try {
      const result = await withDeadline(backend.save(record.key, () => engine.exportImages([name]), undefined), cacheDeadlineMs(platform.env), `saving the dind image to ${backend.name}`);
      if (result.outcome === 'saved') return `the dind image: saved ${record.key} (${mb(result.bytes)})`;
      return `the dind image: not saved (${result.outcome}${result.detail ? `: ${result.detail}` : ''})`;
    } finally {
      await engine.untagImage(name).catch(() => undefined); // a name the engine had not before; the image itself stays
    }
  } catch (e) {
    await backend.abandon?.().catch(() => undefined);
    return `the dind image: not saved (${(e as Error).message})`;
  }
}
