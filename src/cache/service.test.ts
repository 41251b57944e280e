import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import type { CacheService } from '../platform/platform.js';
import { ServiceBackend } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'setup-dind-service-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A cache service that keeps copies of the paths it is given in directories of its own, like GitHub's keeps archives. */
function folderService(): CacheService & { saved: string[] } {
  const store = mkdtempSync(join(root, 'store-'));
  const saved: string[] = [];
  return {
    name: 'a folder service',
    saved,
    async restore(paths, primaryKey, restoreKeys) {
      const key = saved.includes(primaryKey) ? primaryKey : saved.filter((k) => restoreKeys.some((r) => k.startsWith(r))).at(-1);
      if (key) cpSync(join(store, key), paths[0]!, { recursive: true });
      return key;
    },
    async save(paths, key) {
      if (saved.includes(key)) return { outcome: 'exists', detail: `${key} is taken` };
      cpSync(paths[0]!, join(store, key), { recursive: true });
      saved.push(key);
      return { outcome: 'saved' };
    },
  };
}

describe('ServiceBackend (a CI cache service as a backend)', () => {
  it('saves the tar through the service and restores it by key or prefix, leaving no staging directory', async () => {
    const service = folderService();
    const temp = mkdtempSync(join(root, 'temp-'));
    const backend = new ServiceBackend(service, temp);
    expect(backend.name).toBe('a folder service');
    expect(await backend.save('k-1', async () => Readable.from(['tar bytes']), undefined)).toEqual({ outcome: 'saved', bytes: 9 });
    expect(await backend.save('k-1', async () => Readable.from(['tar bytes']), undefined)).toEqual({ outcome: 'exists', bytes: 9, detail: 'k-1 is taken' });
    let got = '';
    expect(await backend.restore('k-2', ['k-'], async (tar) => void (got = await text(tar.stream())))).toEqual({ key: 'k-1', bytes: 9 });
    expect(got).toBe('tar bytes');
    expect(await backend.restore('other', [], async () => undefined)).toBeUndefined();
    expect(existsSync(join(temp, 'setup-dind-cache'))).toBe(false);
  });

  it('does not hand the service a tar above the size limit', async () => {
    const service = folderService();
    const backend = new ServiceBackend(service, mkdtempSync(join(root, 'temp-')));
    expect(await backend.save('big', async () => Readable.from(['0123456789']), 5)).toEqual({ outcome: 'too-large', bytes: 10, detail: 'uncompressed size' });
    expect(service.saved).toEqual([]);
  });
});
