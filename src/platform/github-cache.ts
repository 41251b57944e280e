// GitHub's cache service through @actions/cache. Its API takes paths, not streams: the tar goes to a file in a fixed
// directory (the same path every run, because the path is part of the entry's version), and @actions/cache
// compresses it with multi-threaded zstd. Every failure of the service is the library's warning, never the job's.
// The library (and the Azure SDK under it) is loaded only when a job uses the cache: it is most of the bundle, and
// every phase of every job would otherwise pay for parsing it.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { CacheBackend, RestoredEntry, SaveOutcome } from '../cache/backend.js';

export class GitHubCacheBackend implements CacheBackend {
  readonly name = "GitHub's cache service";
  private readonly dir: string;

  constructor(runnerTemp: string) {
    this.dir = join(runnerTemp, 'setup-dind-cache');
  }

  /** What @actions/cache's isFeatureAvailable checks, without loading it: a cache service URL from the runner. */
  static available(env: Readonly<Record<string, string | undefined>>): boolean {
    return Boolean(env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL);
  }

  async abandon(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async restore(primaryKey: string, restoreKeys: string[], consume: (tar: Readable) => Promise<void>): Promise<RestoredEntry | undefined> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    try {
      const cache = await import('@actions/cache');
      const key = await cache.restoreCache([this.dir], primaryKey, restoreKeys);
      if (!key) return undefined;
      const file = join(this.dir, 'payload.tar');
      const bytes = (await stat(file)).size;
      await consume(createReadStream(file));
      return { key, bytes };
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  async save(key: string, produce: () => Promise<Readable>, maxBytes: number | undefined): Promise<{ outcome: SaveOutcome; bytes: number; detail?: string }> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    try {
      const file = join(this.dir, 'payload.tar');
      await pipeline(await produce(), createWriteStream(file));
      const bytes = (await stat(file)).size;
      // The service stores what zstd makes of it; the tar's size bounds that from above.
      if (maxBytes !== undefined && bytes > maxBytes) return { outcome: 'too-large', bytes, detail: 'uncompressed size' };
      const cache = await import('@actions/cache');
      try {
        const id = await cache.saveCache([this.dir], key);
        return id === -1 ? { outcome: 'failed', bytes, detail: 'see the message above (another job may be saving this key)' } : { outcome: 'saved', bytes };
      } catch (e) {
        if (e instanceof cache.ReserveCacheError) return { outcome: 'exists', bytes, detail: e.message };
        return { outcome: 'failed', bytes, detail: (e as Error).message };
      }
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
