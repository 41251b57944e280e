// The directory backend on real temporary directories: entries scoped by ref (a protected ref never restores what an
// unprotected ref wrote), restore order, and eviction that stays inside the key's own prefix and ref.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobRef } from '../platform/platform.js';
import { DirectoryBackend, refDirName, scopeDir } from './directory.js';

const root = mkdtempSync(join(tmpdir(), 'sd-directory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `c${n++}`);

const ref = (name: string, prot = false, fallbacks: string[] = []): JobRef => ({ name, protected: prot, fallbacks });
const tar = (text: string) => async () => Readable.from([Buffer.from(text)]);

async function save(dir: string, r: JobRef, key: string, text = key, supersedes: string[] = []) {
  return (await new DirectoryBackend(dir, r).save(key, tar(text), undefined, supersedes)).outcome;
}

/** What a restore for `r` gets: the key and the content, or undefined. */
async function restore(dir: string, r: JobRef, key: string, restoreKeys: string[] = []) {
  let content = '';
  const entry = await new DirectoryBackend(dir, r).restore(key, restoreKeys, async (tar) => {
    for await (const chunk of tar.stream()) content += chunk;
  });
  return entry && `${entry.key}=${content}`;
}

/** Every entry file under dir, relative to it. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(relative(dir, join(d, e.name)));
  };
  walk(dir);
  return out.sort();
}

describe('directory backend scoped by ref', () => {
  it('lays entries out as <dir>/<protected|unprotected>/<ref>/<key>.tar.zst', async () => {
    const dir = fresh();
    expect(await save(dir, ref('main', true), 'k-1')).toBe('saved');
    expect(await save(dir, ref('feature/x'), 'k-1')).toBe('saved');
    expect(files(dir)).toEqual(['protected/main/k-1.tar.zst', 'unprotected/feature%2Fx/k-1.tar.zst']);
  });

  it('a protected ref never restores what an unprotected ref wrote, not even under the exact key', async () => {
    const dir = fresh();
    await save(dir, ref('main'), 'k-1', 'poison');
    await save(dir, ref('feature', false, ['main']), 'k-2', 'poison');
    expect(await restore(dir, ref('main', true, ['main']), 'k-1', ['k-'])).toBeUndefined();
    expect(await restore(dir, ref('release', true, ['main']), 'k-1', ['k-'])).toBeUndefined();
  });

  it("an unprotected ref restores its own entries first, then its fallbacks' protected ones, never another unprotected ref's", async () => {
    const dir = fresh();
    await save(dir, ref('main', true), 'k-1', 'trusted');
    await save(dir, ref('other'), 'k-9', 'other branch');
    const feature = ref('feature', false, ['main']);
    expect(await restore(dir, feature, 'k-2', ['k-'])).toBe('k-1=trusted');
    await save(dir, feature, 'k-2', 'own');
    expect(await restore(dir, feature, 'k-3', ['k-'])).toBe('k-2=own');
    // Without main as a fallback it has nothing but its own.
    expect(await restore(dir, ref('lonely'), 'k-3', ['k-'])).toBeUndefined();
    // An unprotected run of main (protection lifted) is not the protected main a fallback means.
    const dir2 = fresh();
    await save(dir2, ref('main'), 'k-1');
    expect(await restore(dir2, feature, 'k-2', ['k-'])).toBeUndefined();
  });

  it('a protected ref restores its own, then a protected fallback (the default branch)', async () => {
    const dir = fresh();
    await save(dir, ref('main', true), 'k-1', 'main');
    expect(await restore(dir, ref('release/1', true, ['main']), 'k-2', ['k-'])).toBe('k-1=main');
    await save(dir, ref('release/1', true, ['main']), 'k-2', 'release');
    expect(await restore(dir, ref('release/1', true, ['main']), 'k-3', ['k-'])).toBe('k-2=release');
  });

  it('eviction after a save removes only older entries of the same prefix in its own ref', async () => {
    const dir = fresh();
    const main = ref('main', true);
    await save(dir, main, 'img_job_aaa_1-1');
    await save(dir, main, 'img_job_bbb_1-1'); // another matrix leg
    await save(dir, main, 'img_other_none_1-1'); // another job
    await save(dir, ref('feature'), 'img_job_aaa_1-1'); // another ref
    await save(dir, main, 'img_job_aaa_2-1', 'new', ['img_job_aaa_']);
    expect(files(dir)).toEqual([
      'protected/main/img_job_aaa_2-1.tar.zst',
      'protected/main/img_job_bbb_1-1.tar.zst',
      'protected/main/img_other_none_1-1.tar.zst',
      'unprotected/feature/img_job_aaa_1-1.tar.zst',
    ]);
  });

  it('ignores entries of the old flat layout (their ref is unknown) and anything that is not a file', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'k-1.tar.zst'), 'legacy');
    mkdirSync(join(scopeDir(dir, ref('main', true)), 'k-0.tar.zst'), { recursive: true });
    expect(await restore(dir, ref('main', true), 'k-1', ['k-'])).toBeUndefined();
  });

  it('hands the entry to a FIFO reader through zstd alone, and ends zstd when the consumer fails without reading', async () => {
    const dir = fresh();
    const big = 'x'.repeat(300_000);
    expect(await save(dir, ref('main'), 'k-1', big)).toBe('saved');
    const fifo = join(dir, 'restore.fifo');
    execFileSync('mkfifo', [fifo]);
    let read = '';
    const entry = await new DirectoryBackend(dir, ref('main')).restore('k-1', [], async (tar) => {
      const reader = new Promise<void>((resolve) => {
        const cat = spawn('cat', [fifo]);
        cat.stdout.on('data', (d) => (read += d));
        cat.on('close', () => resolve());
      });
      await Promise.all([tar.writeTo(fifo), reader]);
    });
    expect(entry?.key).toBe('k-1');
    expect(read).toBe(big);
    // A consumer that takes the stream and fails before reading it: zstd blocks on a full pipe unless it is ended.
    await expect(new DirectoryBackend(dir, ref('main')).restore('k-1', [], async (tar) => {
      tar.stream();
      throw new Error('the engine refused the load');
    })).rejects.toThrow('the engine refused the load');
  });

  it('ref names become one safe directory name', () => {
    expect(refDirName('feature/a')).toBe('feature%2Fa');
    expect(refDirName('..')).toBe('%2E%2E');
    expect(refDirName('.')).toBe('%2E');
    expect(refDirName('')).toBe('%none');
    expect(refDirName('v1.0')).toBe('v1.0');
    expect(scopeDir('/c', ref('../../etc', true))).toBe('/c/protected/..%2F..%2Fetc');
  });
});
