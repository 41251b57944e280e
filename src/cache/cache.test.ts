import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import type { CacheBackend } from './backend.js';
import { type CacheRecord, DeadlineError, GITLAB_CACHE_DEADLINE_MS, cacheDeadlineMs, saveEntry, withDeadline } from './cache.js';

describe('cache deadlines', () => {
  it('gives up on work that does not finish in time, and passes results through', async () => {
    await expect(withDeadline(new Promise(() => {}), 20, 'saving to the service')).rejects.toThrow(DeadlineError);
    await expect(withDeadline(new Promise(() => {}), 20, 'saving to the service')).rejects.toThrow(/saving to the service did not finish within 0 s/);
    await expect(withDeadline(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });
  it('reads SETUP_DIND_CACHE_TIMEOUT_SECONDS, 10 minutes otherwise', () => {
    expect(cacheDeadlineMs({})).toBe(600_000);
    expect(cacheDeadlineMs({ SETUP_DIND_CACHE_TIMEOUT_SECONDS: '5' })).toBe(5000);
    expect(cacheDeadlineMs({ SETUP_DIND_CACHE_TIMEOUT_SECONDS: 'soon' })).toBe(600_000);
  });
  it("fits GitLab's 5-minute after_script by default, with time left to remove the daemon", () => {
    expect(cacheDeadlineMs({ GITLAB_CI: 'true' })).toBe(GITLAB_CACHE_DEADLINE_MS);
    expect(GITLAB_CACHE_DEADLINE_MS).toBeLessThanOrEqual(240_000);
    expect(cacheDeadlineMs({ GITLAB_CI: 'true', SETUP_DIND_CACHE_TIMEOUT_SECONDS: '30' })).toBe(30_000);
  });
});

describe('cache-save', () => {
  const saves: string[] = [];
  const backend: CacheBackend = {
    name: 'test',
    restore: async () => undefined,
    save: async (key) => (saves.push(key), { outcome: 'saved', bytes: 1 }),
  };
  const log = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {} };
  const record = (save: CacheRecord['settings']['save']): CacheRecord => ({
    settings: { strategy: 'images', images: [], save }, key: 'k', restoreKeys: [], backend: 'test', hit: 'false', fingerprint: ['a'],
  });
  const changed = { ids: ['a', 'b'], refs: ['x'] };
  const save = (mode: CacheRecord['settings']['save'], status: string, current = changed) =>
    saveEntry(backend, record(mode), current, async () => Readable.from([]), log, undefined, 1000, status);

  it('on-success (the default) publishes nothing from a failed or cancelled job', async () => {
    expect(await save('on-success', 'failure')).toBe('not saved: the job did not succeed (failure), and cache-save is on-success');
    expect(await save('on-success', 'cancelled')).toMatch(/did not succeed \(cancelled\)/);
    expect(await save('on-success', '')).toMatch(/did not succeed \(unknown\)/);
    expect(saves).toEqual([]);
    expect(await save('on-success', 'success', { ids: ['a'], refs: ['x'] })).toMatch(/unchanged/);
    expect(await save('on-success', 'success')).toMatch(/^saved k/);
    expect(await save('on-change', 'failure')).toMatch(/^saved k/);
    expect(saves).toEqual(['k', 'k']);
  });
});
