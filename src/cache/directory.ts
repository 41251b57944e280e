// A cache directory (GitLab's `cache:` keeps it between pipelines): one `<key>.tar.zst` per entry, written to a
// temporary name and renamed, so a crash never leaves a half entry under a real key.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { CacheBackend, RestoredEntry, SaveOutcome } from './backend.js';
import { compressToFile, decompressFile } from './zstd.js';

const SUFFIX = '.tar.zst';
const fileOf = (dir: string, key: string) => join(dir, `${encodeURIComponent(key)}${SUFFIX}`);

export class DirectoryBackend implements CacheBackend {
  readonly name: string;

  constructor(private readonly dir: string) {
    this.name = `directory ${dir}`;
  }

  private async entries(): Promise<{ key: string; file: string; mtime: number; bytes: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out = [];
    for (const name of names) {
      if (!name.endsWith(SUFFIX)) continue;
      const file = join(this.dir, name);
      const info = await stat(file);
      out.push({ key: decodeURIComponent(name.slice(0, -SUFFIX.length)), file, mtime: info.mtimeMs, bytes: info.size });
    }
    return out;
  }

  async abandon(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith(`.partial-${process.pid}`)) await rm(join(this.dir, name), { force: true });
  }

  async restore(primaryKey: string, restoreKeys: string[], consume: (tar: Readable) => Promise<void>): Promise<RestoredEntry | undefined> {
    const all = await this.entries();
    let match = all.find((e) => e.key === primaryKey);
    for (const prefix of restoreKeys) {
      if (match) break;
      match = all.filter((e) => e.key.startsWith(prefix)).sort((a, b) => b.mtime - a.mtime)[0];
    }
    if (!match) return undefined;
    const { stream, done } = decompressFile(match.file);
    // Both ends settle before the restore returns: a consumer still writing must not outlive a failure.
    const [consumed, decompressed] = await Promise.allSettled([consume(stream), done]);
    if (consumed.status === 'rejected' || decompressed.status === 'rejected') {
      const reasons = [consumed, decompressed].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      throw new Error(reasons.join('; '));
    }
    return { key: match.key, bytes: match.bytes };
  }

  async save(key: string, produce: () => Promise<Readable>, maxBytes: number | undefined, supersedes: string[] = []): Promise<{ outcome: SaveOutcome; bytes: number; detail?: string }> {
    const target = fileOf(this.dir, key);
    if ((await this.entries()).some((e) => e.key === key)) return { outcome: 'exists', bytes: 0 };
    await mkdir(this.dir, { recursive: true });
    const partial = `${target}.partial-${process.pid}`;
    try {
      await compressToFile(await produce(), partial);
      const bytes = (await stat(partial)).size;
      if (maxBytes !== undefined && bytes > maxBytes) return { outcome: 'too-large', bytes };
      await rename(partial, target);
      // GitLab keeps whatever the directory holds: without this it would grow with every changed pipeline.
      for (const old of await this.entries()) {
        if (old.key !== key && supersedes.some((prefix) => old.key.startsWith(prefix))) await rm(old.file, { force: true });
      }
      return { outcome: 'saved', bytes };
    } finally {
      await rm(partial, { force: true });
    }
  }
}
