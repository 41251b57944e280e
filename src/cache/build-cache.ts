// What a data-root snapshot keeps of the daemon's build cache. BuildKit's cache (and the classic builder's
// intermediate images) lives in the data root, so a snapshot carries it to the next job, where an unchanged build is a
// cache hit; the size a snapshot keeps is the input cache-build-size.
import type { EngineClient } from '../engine/client.js';
import type { Logger } from '../platform/platform.js';
import { mb } from './cache.js';

/** Build cache a data-root snapshot keeps at most by default (cache-build-size: 1G). */
export const SNAPSHOT_BUILD_CACHE_BYTES = 1024 ** 3;

/**
 * Before a data-root snapshot: every container goes (a restored daemon would restart the last job's containers), and
 * unused networks, dangling images and the least recently used build cache beyond `keepBytes`. Says what it kept.
 */
export async function pruneForSnapshot(daemon: EngineClient, keepBytes: number, log: Logger): Promise<void> {
  for (const id of await daemon.listContainerIds()) await daemon.removeContainer(id);
  const pruned = await daemon.pruneUnused(keepBytes);
  const kept = keepBytes > 0 ? `keeps up to ${mb(keepBytes)} of build cache, the most recently used` : 'keeps no build cache';
  log.info(`setup-dind cache: the data-root snapshot ${kept} (cache-build-size)${pruned > 0 ? `; ${mb(pruned)} beyond it was pruned` : ''}.`);
}
