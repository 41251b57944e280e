// The image cache through a job: restore before the first step (images: docker load into the job's daemon in main;
// data-root: the daemon's data root, restored into its volume in pre before dockerd starts), save in post only
// when the images changed. Nothing here may fail a job: every problem becomes a warning and a cold daemon.
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import type { EngineClient } from '../engine/client.js';
import type { JobContext, Logger, Platform } from '../platform/platform.js';
import type { CacheBackend, TarOutput, TarSource } from './backend.js';
import { DirectoryBackend } from './directory.js';
import { prunePrefix } from './lifecycle.js';
import { ServiceBackend } from './service.js';
import type { CacheSettings } from './settings.js';
import { PROBE_IMAGE } from '../session/session.js';

/** What the cache needs to know about the job: its settings, and what makes entries compatible (mode, image). */
export interface CacheUse {
  mode: string;
  dind: { image: string };
  cache?: CacheSettings;
}

/** What main learned and post needs: saved in state. */
export interface CacheRecord {
  settings: CacheSettings;
  key: string;
  restoreKeys: string[];
  backend: string;
  /** Where a directory backend lives (post rebuilds the backend from it). */
  dir?: string;
  hit: 'true' | 'partial' | 'false';
  restoredKey?: string;
  restoredBytes?: number;
  restoreSeconds?: number;
  /** Ids of the selected images right after the restore: post saves only when they differ. */
  fingerprint?: string[];
  /** The restore failed part-way (a corrupt or truncated entry): what it wrote must be discarded. */
  failed?: boolean;
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);

/** Sorted keys all the way down: the same matrix values give the same text whatever order JSON had them in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/**
 * A leg of a matrix as a short digest of its values; 'none' outside a matrix (GitHub's matrix context is then null).
 * GitHub hands the matrix over as JSON (toJSON(matrix), key order and layout irrelevant); GitLab as "[a, b]".
 */
export function matrixDigest(matrix: string): string {
  const text = matrix.trim();
  let value: unknown = text;
  try {
    value = canonical(JSON.parse(text));
  } catch {
    // not JSON (GitLab's "[a, b]", "2/3"): the text itself
  }
  if (value === '' || value === null || (typeof value === 'object' && !Array.isArray(value) && !Object.keys(value).length)) return 'none';
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

/**
 * Default keys: what makes entries compatible (cache kind, OS, architecture, mode, image), the job and its matrix leg,
 * then the run, so each run can write a fresh entry. `_` ends the job's and the leg's part (a slug has none), so no
 * job's prefix is a prefix of another job's. A leg restores its own entries first, then its job's newest of any leg.
 */
export function cacheKeys(inputs: CacheUse, job: JobContext): { key: string; restoreKeys: string[] } {
  const settings = inputs.cache!;
  const image = inputs.mode === 'dind' ? `-${slug(inputs.dind.image)}` : '';
  const jobPrefix = `setup-dind-${settings.strategy}-${process.platform}-${process.arch}-${inputs.mode}${image}_${slug(job.name) || 'job'}_`;
  const leg = matrixDigest(job.matrix);
  const legPrefix = `${jobPrefix}${leg}_`;
  return {
    key: settings.key ?? `${legPrefix}${slug(job.runId)}-${slug(job.runAttempt)}`,
    restoreKeys: settings.restoreKeys ?? (settings.key ? [] : leg === 'none' ? [legPrefix] : [legPrefix, jobPrefix]),
  };
}

/**
 * A new record and its backend (a directory when cache-dir is set, else the CI system's cache service), or undefined
 * with a warning when there is no backend.
 */
export function startCache(inputs: CacheUse, platform: Platform): { record: CacheRecord; backend: CacheBackend } | undefined {
  const settings = inputs.cache;
  if (!settings) return undefined;
  const dir = cacheDir(settings, platform);
  const backend = backendFor(dir, platform);
  if (!backend) {
    platform.log.warning('The image cache needs a cache service (GitHub Actions) or cache-dir; none is available here, so the cache is off for this job.');
    return undefined;
  }
  const { key, restoreKeys } = cacheKeys(inputs, platform.job);
  return { backend, record: { settings, key, restoreKeys, backend: backend.name, ...(dir ? { dir } : {}), hit: 'false' } };
}

/** cache-dir as a path (relative to the workspace when it is not absolute); undefined when it is not set. */
export const cacheDir = (settings: CacheSettings, platform: Platform): string | undefined =>
  settings.dir ? (isAbsolute(settings.dir) ? settings.dir : resolve(platform.job.workspace, settings.dir)) : undefined;

/** A directory when there is one, else the CI system's cache service (staged in the job's temporary directory). */
export function backendFor(dir: string | undefined, platform: Platform): CacheBackend | undefined {
  if (dir) return new DirectoryBackend(dir, platform.job.ref);
  const service = platform.cacheService();
  return service && new ServiceBackend(service, platform.job.tempDir);
}

export const backendFromRecord = (record: CacheRecord, platform: Platform): CacheBackend | undefined => backendFor(record.dir, platform);

function matches(pattern: string, tag: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  // "busybox" selects every tag of busybox; "busybox:1" only that one.
  return regex.test(tag) || (!pattern.includes(':') && regex.test(tag.replace(/:[^:/]+$/, '')));
}

/** The images the cache keeps: their ids (for change detection) and the references to save them by. */
export async function selectImages(engine: EngineClient, patterns: string[]): Promise<{ ids: string[]; refs: string[] }> {
  // The run probe's image comes and goes while the job's daemon starts (pre's background check runs beside main's
  // restore): it is never the job's, so it never makes the images "changed".
  const images = (await engine.listImages()).filter((i) => !i.tags.includes(PROBE_IMAGE));
  const chosen = patterns.length ? images.filter((i) => i.tags.some((t) => patterns.some((p) => matches(p, t)))) : images;
  return {
    ids: [...new Set(chosen.map((i) => i.id))].sort(),
    refs: chosen.flatMap((i) => (i.tags.length ? i.tags : [i.id])),
  };
}

/**
 * Cache transfers get a deadline: GitHub's cache client has none for uploads, and a stalled service must never keep
 * post from removing the daemon. SETUP_DIND_CACHE_TIMEOUT_SECONDS changes it (default 10 minutes; 3 on GitLab, whose
 * after_script has 5 minutes).
 */
export function cacheDeadlineMs(env: Readonly<Record<string, string | undefined>>): number {
  const seconds = Number(env.SETUP_DIND_CACHE_TIMEOUT_SECONDS);
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  // GitLab gives after_script 5 minutes in all: the save must leave time to stop and remove the daemon.
  return env.GITLAB_CI === 'true' ? GITLAB_CACHE_DEADLINE_MS : 600_000;
}

export const GITLAB_CACHE_DEADLINE_MS = 180_000;

export class DeadlineError extends Error {}

/** The promise's result, or a DeadlineError after `ms` (the work itself is abandoned, not cancelled). */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} did not finish within ${Math.round(ms / 1000)} s and was given up`)), ms);
  });
  work.catch(() => undefined); // a late failure of abandoned work is not news
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

const sameIds = (a: string[] | undefined, b: string[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Restores an entry with `consume`; a failure is a warning and a miss. `waitedMs`: how long the consumer waited for
 * what a job without a cache waits for too (the daemon's container starting); the time reported leaves it out.
 */
export async function restoreEntry(
  backend: CacheBackend,
  record: CacheRecord,
  consume: (tar: TarSource) => Promise<void>,
  log: Logger,
  deadlineMs = 600_000,
  waitedMs: () => number = () => 0,
): Promise<CacheRecord> {
  const started = performance.now();
  try {
    const entry = await withDeadline(backend.restore(record.key, record.restoreKeys, consume), deadlineMs, `restoring from ${backend.name}`);
    if (!entry) {
      log.info(`setup-dind cache: no entry for ${record.key}${record.restoreKeys.length ? ` or ${record.restoreKeys.join(', ')}*` : ''} in ${backend.name}.`);
      return { ...record, hit: 'false' };
    }
    // Time the consumer spent waiting for something every job waits for (the daemon's container to start) is not the restore's.
    const waited = waitedMs() / 1000;
    const seconds = (performance.now() - started) / 1000 - waited;
    const besides = waited >= 0.005 ? `, besides ${waited.toFixed(2)} s waiting for the daemon's container to start` : '';
    log.info(`setup-dind cache: restored ${entry.key} (${mb(entry.bytes)}) from ${backend.name} in ${seconds.toFixed(2)} s${besides}.`);
    return { ...record, hit: entry.key === record.key ? 'true' : 'partial', restoredKey: entry.key, restoredBytes: entry.bytes, restoreSeconds: seconds };
  } catch (e) {
    if (e instanceof DeadlineError) await backend.abandon?.().catch(() => undefined);
    log.warning(`setup-dind cache: restoring from ${backend.name} failed (${(e as Error).message}); the daemon starts cold.`);
    return { ...record, hit: 'false', failed: true };
  }
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * post: saves when the selected images differ from what was restored (or always, per cache-save). `produce` makes
 * the tar (docker save, or the stopped daemon's data root); `prepare` runs first when saving (stopping the daemon).
 */
export async function saveEntry(
  backend: CacheBackend,
  record: CacheRecord,
  current: { ids: string[]; refs: string[] },
  produce: (refs: string[]) => Promise<TarOutput>,
  log: Logger,
  prepare?: () => Promise<void>,
  deadlineMs = 600_000,
  jobStatus = 'success',
): Promise<string> {
  const { settings } = record;
  if (settings.save === 'never') return 'not saved: cache-save is never';
  if (settings.save === 'on-success' && jobStatus !== 'success') return `not saved: the job did not succeed (${jobStatus || 'unknown'}), and cache-save is on-success`;
  if (!current.ids.length) return 'not saved: no images to keep';
  if ((settings.save === 'on-change' || settings.save === 'on-success') && sameIds(record.fingerprint, current.ids)) {
    return `not saved: the images are unchanged since ${record.restoredKey ? `the restore of ${record.restoredKey}` : 'the start'}`;
  }
  const started = performance.now();
  try {
    await prepare?.();
    // Only the key's own prefix is superseded (a matrix leg's, not its job's): other legs' entries stay.
    const superseded = prunePrefix(record.key, record.restoreKeys);
    const result = await withDeadline(backend.save(record.key, () => produce(current.refs), settings.maxBytes, superseded ? [superseded] : []), deadlineMs, `saving to ${backend.name}`);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    switch (result.outcome) {
      case 'saved':
        return `saved ${record.key} (${mb(result.bytes)}, ${current.ids.length} images) to ${backend.name} in ${seconds} s`;
      case 'exists':
        log.warning(`setup-dind cache: ${record.key} exists already and entries are immutable; use a key that changes (the default adds the run) to save changed images.`);
        return 'not saved: the key exists';
      case 'too-large':
        log.warning(`setup-dind cache: not saved, ${mb(result.bytes)} is above cache-max-size (${mb(settings.maxBytes ?? 0)}).`);
        return 'not saved: too large';
      default:
        log.warning(`setup-dind cache: saving to ${backend.name} failed${result.detail ? ` (${result.detail})` : ''}.`);
        return 'not saved: the backend failed';
    }
  } catch (e) {
    if (e instanceof DeadlineError) await backend.abandon?.().catch(() => undefined);
    log.warning(`setup-dind cache: saving failed (${(e as Error).message}); the job is not affected.`);
    return 'not saved: an error';
  }
}
