// The image cache through a job's phases (phases.ts tells the story, this is the cache's part of it). pre: data-root
// restores into the daemon's volume (or seeds it through the daemon's init script). main: images are loaded and the
// job's images fingerprinted. post: the cache saved when it changed (data-root stops the daemon cleanly first), the
// older entries of its key pruned, the dind image saved. Every cache failure is a warning, never the job's failure.
import type { DindImageRecord } from './dind-image.js';
import { saveDindImage } from './dind-image.js';
import type { SavedEndpoint } from '../endpoint/endpoint.js';
import { loadEndpoint } from '../endpoint/endpoint.js';
import { type DaemonInfo, EngineClient, STOP_GRACE_SECONDS } from '../engine/client.js';
import type { Platform, Recorder } from '../platform/platform.js';
import { sessionLabels } from '../session/session.js';
import type { TarSource } from './backend.js';
import { type CacheRecord, type CacheUse, backendFromRecord, cacheDeadlineMs, mb, restoreEntry, saveEntry, selectImages, startCache } from './cache.js';
import { type DaemonSeed, type SnapshotPlace, restoreDataRootSnapshot, seedDaemon, snapshotDataRoot } from './data-root.js';
import { pruneAfterSave } from './prune.js';
import { SNAPSHOT_BUILD_CACHE_BYTES, pruneForSnapshot } from './build-cache.js';
import { savePlatform } from './image-store.js';
import { classicRepositories, readSmall, storeMismatch } from './store-mismatch.js';

/** What the cache records and reads in the job's state (state.ts composes it into the whole record). */
export interface CacheState {
  session: string;
  ready?: boolean;
  /** The image cache: keys, what was restored, and the image ids to compare against in post. */
  cache?: CacheRecord;
  /** dind with cache: the image pre pulled, which post saves into its cache entry. */
  dindImage?: DindImageRecord;
  endpoint?: SavedEndpoint;
  outer?: SavedEndpoint;
  containerId?: string;
  volume?: string;
  jobDir?: string;
  hostJobDir?: string;
}

/** data-root: restores the newest entry into the daemon's volume before dockerd starts (pre). */
export function restoreDataRoot(inputs: CacheUse, platform: Platform, state: Recorder<CacheState>) {
  // The helper mounts the daemon's volume; the daemon's container stays created, not started.
  return async (engine: EngineClient, containerId: string): Promise<boolean> => {
    const started = startCache(inputs, platform);
    if (!started) return true;
    // The image the daemon's container runs (it may have come from the cache under another name).
    const image = (await engine.inspectContainer(containerId))?.image ?? inputs.dind.image;
    const place = snapshotPlace(engine, state.value!, image, platform);
    return restoreRecorded(started, platform, state, (tar) => restoreDataRootSnapshot(place, tar));
  };
}

/** The cache's restore into the daemon's volume, its record saved in state; false when it failed part-way. */
async function restoreRecorded(started: NonNullable<ReturnType<typeof startCache>>, platform: Platform, state: Recorder<CacheState>, consume: (tar: TarSource) => Promise<void>, waited?: () => number): Promise<boolean> {
  const record = await restoreEntry(started.backend, started.record, consume, platform.log, cacheDeadlineMs(platform.env), waited);
  state.update({ cache: record });
  return !record.failed;
}

/** data-root through the daemon's own init script: the lookup starts now, the unpack when its container starts. */
export function seedDataRoot(inputs: CacheUse, platform: Platform, state: Recorder<CacheState>) {
  return async (): Promise<DaemonSeed | undefined> => {
    const started = startCache(inputs, platform);
    if (!started) return undefined;
    const jobDir = state.value?.jobDir;
    if (!jobDir) throw new Error('the job directory is not recorded in state');
    const deadlineMs = cacheDeadlineMs(platform.env);
    // The init script waits for our word at most as long as the restore may take, and a minute more.
    return seedDaemon(jobDir, Math.ceil(deadlineMs / 1000) + 60, (consume, waited) => restoreRecorded(started, platform, state, consume, waited)).catch((e: Error) => {
      // Like every cache failure: a warning and a cold daemon (post may still save).
      platform.log.warning(`setup-dind cache: the data-root restore could not be prepared (${e.message}); the daemon starts cold.`);
      state.update({ cache: { ...started.record, failed: true } });
      return undefined;
    });
  };
}

/** Where a data-root snapshot is taken or restored: the daemon's volume on the outer engine, through the job directory. */
function snapshotPlace(engine: EngineClient, s: CacheState, image: string, platform: Platform): SnapshotPlace {
  if (!s.volume || !s.jobDir || !s.hostJobDir) throw new Error('the daemon\'s volume or job directory is not recorded in state');
  return { engine, image, volume: s.volume, jobDir: s.jobDir, hostJobDir: s.hostJobDir, labels: sessionLabels(s.session, platform.job) };
}

/**
 * main: images are loaded into the job's daemon now; data-root was restored in pre. Either way the ids of the
 * selected images are recorded, so post can tell whether anything changed.
 */
export async function prepareImageCache(inputs: CacheUse, platform: Platform, state: Recorder<CacheState>, daemon: EngineClient, probeGone: Promise<void>): Promise<CacheRecord | undefined> {
  if (!inputs.cache) return undefined;
  let record = state.value?.cache;
  if (!record) {
    const started = startCache(inputs, platform);
    if (!started) return undefined;
    record = started.record;
    if (inputs.cache.strategy === 'images') {
      record = await restoreEntry(started.backend, record, (tar) => daemon.loadImages(tar.stream()), platform.log, cacheDeadlineMs(platform.env));
    }
  }
  try {
    // While the probe's image is being loaded or removed it can be listed without its tag, as one of the job's images.
    await probeGone;
    record = { ...record, fingerprint: (await selectImages(daemon, record.settings.images)).ids };
  } catch (e) {
    platform.log.warning(`setup-dind cache: could not list the images (${(e as Error).message}); post will save regardless.`);
  }
  state.update({ cache: record });
  return record;
}

export function cacheFact(record: CacheRecord): string {
  if (!record.restoredKey) return `${record.settings.strategy}: nothing restored (${record.backend})`;
  return `${record.settings.strategy}: ${record.hit === 'true' ? 'hit' : 'partial hit'} ${record.restoredKey}, ${mb(record.restoredBytes ?? 0)} in ${(record.restoreSeconds ?? 0).toFixed(2)} s`;
}

/** post: saves the images when they changed; data-root stops the daemon cleanly first. Never throws. */
async function saveImageCache(record: CacheRecord, s: CacheState, platform: Platform, jobStatus: string): Promise<string> {
  const backend = backendFromRecord(record, platform);
  if (!backend) return 'not saved: no cache backend';
  try {
    const daemon = new EngineClient(loadEndpoint(s.endpoint!));
    const current = await selectImages(daemon, record.settings.images);
    if (record.settings.strategy === 'images') {
      const only = await savePlatform(daemon);
      return await saveEntry(backend, record, current, (refs) => daemon.exportImages(refs, only), platform.log, undefined, cacheDeadlineMs(platform.env), jobStatus);
    }
    const outer = new EngineClient(loadEndpoint(s.outer!));
    const id = s.containerId!;
    // The image is the one the daemon runs: post reads no inputs but job-status, so it comes from the container.
    const image = (await outer.inspectContainer(id))?.image ?? '';
    const prepare = async () => {
      await pruneForSnapshot(daemon, record.settings.buildCacheBytes ?? SNAPSHOT_BUILD_CACHE_BYTES, platform.log);
      await stopCleanly(outer, id);
    };
    const place = { ...snapshotPlace(outer, s, image, platform), volumes: record.settings.volumes };
    return await saveEntry(backend, record, current, () => snapshotDataRoot(place), platform.log, prepare, cacheDeadlineMs(platform.env), jobStatus);
  } catch (e) {
    platform.log.warning(`setup-dind cache: could not save (${(e as Error).message}).`);
    return 'not saved: an error';
  }
}

/** main, after a data-root restore: one warning when the daemon's image store does not see the restored images. */
export async function warnStoreMismatch(s: CacheState, daemon: EngineClient, info: DaemonInfo, platform: Platform): Promise<void> {
  try {
    if (!s.outer || !s.containerId) return;
    const outer = new EngineClient(loadEndpoint(s.outer));
    const repositories = classicRepositories(await readSmall(await outer.archiveIfExists(s.containerId, '/var/lib/docker/image/overlay2/repositories.json')));
    const warning = storeMismatch({ store: info.imageStore, driver: info.storageDriver, classicRepositories: repositories, imagesListed: (await daemon.listImages()).length });
    if (warning) platform.log.warning(warning);
  } catch (e) {
    platform.log.debug(`setup-dind cache: could not compare the restored data root with the daemon's image store (${(e as Error).message})`);
  }
}

/**
 * data-root: dockerd must have shut down by itself (exit code 0) before its data root is archived. A daemon killed
 * after the grace period, or one that is still running, may have left its databases half-written: no snapshot.
 */
async function stopCleanly(outer: EngineClient, id: string): Promise<void> {
  await outer.stopContainer(id, STOP_GRACE_SECONDS);
  const c = await outer.inspectContainer(id);
  if (!c) throw new Error("the daemon's container is gone, so there is no data root to save");
  if (c.running) throw new Error(`the daemon is still running after the stop request (state: ${c.status}); its data root is not saved`);
  if (c.exitCode !== 0) {
    const how = c.exitCode === 137 ? `it was killed after ${STOP_GRACE_SECONDS} s` : `it exited with code ${c.exitCode}`;
    throw new Error(`the daemon did not shut down cleanly (${how}); a snapshot of its data root could be inconsistent, so it is not saved`);
  }
}

/** post: the image cache saved when it changed (then the older entries of its key pruned), and the dind image. */
export async function saveCaches(s: CacheState, platform: Platform, jobStatus: string): Promise<void> {
  if (s.cache && s.ready && s.endpoint) {
    const message = await platform.group('Image cache', () => saveImageCache(s.cache!, s, platform, jobStatus));
    platform.log.info(`setup-dind cache: ${message}.`);
    // saveEntry's message for a new entry starts with "saved ".
    if (message.startsWith('saved ')) await pruneAfterSave(s.cache, platform);
  }
  if (s.dindImage && s.outer && s.ready) platform.log.info(`setup-dind cache: ${await saveDindImage(new EngineClient(loadEndpoint(s.outer)), s.dindImage, platform)}.`);
}

