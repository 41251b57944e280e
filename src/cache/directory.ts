// A cache directory (GitLab's `cache:`, a self-hosted runner's disk): one `<key>.tar.zst` per entry, written to a
// temporary name and renamed, so a crash never leaves a half entry under a real key.
//
// Entries are scoped by git ref, so that a ref anyone may push to cannot hand a protected ref its daemon state:
//
//   <dir>/protected/<ref>/<key>.tar.zst      written by jobs of protected branches and tags
//   <dir>/unprotected/<ref>/<key>.tar.zst    written by every other ref
//
// A job writes into its own ref's directory only. It restores from its own ref's directory first, then from the
// protected directories of its fallback refs (a merge request's target, the default branch): a protected ref never
// reads an unprotected entry, and an unprotected ref never reads another unprotected ref's. Eviction after a save
// removes only entries of the saved key's own prefix in its own ref's directory.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRef } from '../platform/platform.js';
import type { CacheBackend, RestoredEntry, SaveOutcome, TarOutput, TarSource } from './backend.js';
import { consumeSource, zstdTar } from './tar-source.js';
import { compressToFile } from './zstd.js';

const SUFFIX = '.tar.zst';
const fileOf = (dir: string, key: string) => join(dir, `${encodeURIComponent(key)}${SUFFIX}`);

/** A ref as one directory name: encoded (a ref may hold `/`), never `.` or `..`; '%none' outside CI (`%` never ends an encoding). */
export function refDirName(ref: string): string {
  if (!ref) return '%none';
  return encodeURIComponent(ref).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}

/** The directory a ref's entries live in. */
export const scopeDir = (dir: string, ref: { name: string; protected: boolean }) => join(dir, ref.protected ? 'protected' : 'unprotected', refDirName(ref.name));

interface Entry {
  key: string;
  file: string;
  mtime: number;
  bytes: number;
}

async function entriesIn(dir: string): Promise<Entry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out = [];
  for (const name of names) {
    if (!name.endsWith(SUFFIX)) continue;
    const file = join(dir, name);
    const info = await stat(file);
    if (info.isFile()) out.push({ key: decodeURIComponent(name.slice(0, -SUFFIX.length)), file, mtime: info.mtimeMs, bytes: info.size });
  }
  return out;
}

/** The exact key, else the newest entry whose key starts with a restore key (tried in order). */
function pick(all: Entry[], primaryKey: string, restoreKeys: string[]): Entry | undefined {
  let match = all.find((e) => e.key === primaryKey);
  for (const prefix of restoreKeys) {
    if (match) break;
    match = all.filter((e) => e.key.startsWith(prefix)).sort((a, b) => b.mtime - a.mtime)[0];
  }
  return match;
}

export class DirectoryBackend implements CacheBackend {
  readonly name: string;
  /** Where this job's entries are written. */
  private readonly own: string;
  /** Where it may restore from, in order: its own directory, then its fallback refs' protected directories. */
  private readonly readable: string[];

  constructor(dir: string, ref: JobRef) {
    this.name = `directory ${dir}`;
    this.own = scopeDir(dir, ref);
    const fallbacks = ref.fallbacks.map((name) => scopeDir(dir, { name, protected: true }));
    this.readable = [this.own, ...fallbacks.filter((d, i) => d !== this.own && fallbacks.indexOf(d) === i)];
  }

  async abandon(): Promise<void> {
    const names = await readdir(this.own).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith(`.partial-${process.pid}`)) await rm(join(this.own, name), { force: true });
  }

  async restore(primaryKey: string, restoreKeys: string[], consume: (tar: TarSource) => Promise<void>): Promise<RestoredEntry | undefined> {
    let match: Entry | undefined;
    for (const dir of this.readable) {
      match = pick(await entriesIn(dir), primaryKey, restoreKeys);
      if (match) break;
    }
    if (!match) return undefined;
    // Both ends settle before the restore returns; a zstd that failed fails it too (a corrupt entry).
    await consumeSource(zstdTar(match.file), consume);
    return { key: match.key, bytes: match.bytes };
  }

  async save(key: string, produce: () => Promise<TarOutput>, maxBytes: number | undefined, supersedes: string[] = []): Promise<{ outcome: SaveOutcome; bytes: number; detail?: string }> {
    const target = fileOf(this.own, key);
    if ((await entriesIn(this.own)).some((e) => e.key === key)) return { outcome: 'exists', bytes: 0 };
    await mkdir(this.own, { recursive: true });
    const partial = `${target}.partial-${process.pid}`;
    try {
      await compressToFile(await produce(), partial);
      const bytes = (await stat(partial)).size;
      if (maxBytes !== undefined && bytes > maxBytes) return { outcome: 'too-large', bytes };
      await rename(partial, target);
      // GitLab keeps whatever the directory holds: without this it would grow with every changed pipeline. Only this
      // ref's entries of the key's own prefix go; other jobs', other legs' and other refs' stay.
      for (const old of await entriesIn(this.own)) {
        if (old.key !== key && supersedes.some((prefix) => old.key.startsWith(prefix))) await rm(old.file, { force: true });
      }
      return { outcome: 'saved', bytes };
    } finally {
      await rm(partial, { force: true });
    }
  }
}
