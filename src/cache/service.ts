// A CI system's cache service as a cache backend (GitHub's, through the platform). Such a service takes paths, not
// streams: the tar goes to a file in a fixed directory (the same path every run, because the path is part of the
// entry's version), and the service compresses it (GitHub: multi-threaded zstd). Every failure of the service is a
// warning, never the job's. The staging directory is removed after each transfer and by abandon().
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CacheService } from '../platform/platform.js';
import type { CacheBackend, RestoredEntry, SaveOutcome, TarOutput, TarSource } from './backend.js';
import { tarStream } from './tar.js';
import { consumeSource, fileTar } from './tar-source.js';

export class ServiceBackend implements CacheBackend {
  readonly name: string;
  private readonly dir: string;

  constructor(
    private readonly service: CacheService,
    tempDir: string,
  ) {
    this.name = service.name;
    this.dir = join(tempDir, 'setup-dind-cache');
  }

  async abandon(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async restore(primaryKey: string, restoreKeys: string[], consume: (tar: TarSource) => Promise<void>): Promise<RestoredEntry | undefined> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    try {
      const key = await this.service.restore([this.dir], primaryKey, restoreKeys);
      if (!key) return undefined;
      const file = join(this.dir, 'payload.tar');
      const bytes = (await stat(file)).size;
      await consumeSource(fileTar(file), consume);
      return { key, bytes };
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  async save(key: string, produce: () => Promise<TarOutput>, maxBytes: number | undefined): Promise<{ outcome: SaveOutcome; bytes: number; detail?: string }> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    try {
      const file = join(this.dir, 'payload.tar');
      await pipeline(tarStream(await produce()), createWriteStream(file));
      const bytes = (await stat(file)).size;
      // The service stores what zstd makes of it; the tar's size bounds that from above.
      if (maxBytes !== undefined && bytes > maxBytes) return { outcome: 'too-large', bytes, detail: 'uncompressed size' };
      const saved = await this.service.save([this.dir], key);
      return { ...saved, bytes };
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
