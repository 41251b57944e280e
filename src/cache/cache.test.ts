import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import type { CacheBackend } from './backend.js';
import { type CacheRecord, DeadlineError, GITLAB_CACHE_DEADLINE_MS, cacheDeadlineMs, cacheKeys, matrixDigest, saveEntry, selectImages, withDeadline } from './cache.js';
import type { EngineClient } from '../engine/client.js';
import { PROBE_IMAGE } from '../session/session.js';
import { prunePrefix } from './lifecycle.js';

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

describe('default cache keys', () => {
  const job = (name: string, matrix: string, runId = '7') => ({ runId, runAttempt: '1', job: name, name, matrix, ref: { name: 'main', protected: false, fallbacks: [] }, tempDir: '/t', workspace: '/w' });
  const use = (key?: string, restoreKeys?: string[]) => ({ mode: 'dind', dind: { image: 'docker:29-dind' }, cache: { strategy: 'images' as const, images: [], save: 'on-success' as const, key, restoreKeys } });
  const keys = (name: string, matrix: string, runId = '7') => cacheKeys(use(), job(name, matrix, runId));

  it('hold the job and its matrix leg, so legs never share or evict each other', () => {
    const a = keys('test', '{\n  "node": 20,\n  "os": "linux"\n}');
    const b = keys('test', '{\n  "node": 22,\n  "os": "linux"\n}');
    expect(a.key).toMatch(new RegExp(`^setup-dind-images-${process.platform}-${process.arch}-dind-docker-29-dind_test_[0-9a-f]{12}_7-1$`));
    expect(a.key).not.toBe(b.key);
    expect(a.restoreKeys[0]).not.toBe(b.restoreKeys[0]);
    // A leg restores its own entries first, then any leg of its job.
    expect(a.restoreKeys).toEqual([a.key.replace(/7-1$/, ''), a.key.replace(/[0-9a-f]{12}_7-1$/, '')]);
    expect(a.restoreKeys[1]).toBe(b.restoreKeys[1]);
    // The leg's prefix is what a save supersedes, never the job's.
    expect(prunePrefix(a.key, a.restoreKeys)).toBe(a.restoreKeys[0]);
    expect(b.key.startsWith(prunePrefix(a.key, a.restoreKeys)!)).toBe(false);
  });

  it('the same matrix values give the same leg whatever the JSON layout; the run changes only the tail', () => {
    expect(keys('test', '{"os":"linux","node":20}', '8').restoreKeys).toEqual(keys('test', '{\n  "node": 20,\n  "os": "linux"\n}').restoreKeys);
    expect(matrixDigest('{"a":{"y":1,"x":2}}')).toBe(matrixDigest('{"a":{"x":2,"y":1}}'));
    expect(matrixDigest('{"a":1}')).not.toBe(matrixDigest('{"a":2}'));
  });

  it('outside a matrix: one leg, no job fallback; GitLab legs ("[a, b]") are legs too', () => {
    for (const none of ['', 'null', '{}', '  ']) expect(matrixDigest(none)).toBe('none');
    expect(keys('build', 'null').restoreKeys).toEqual([keys('build', 'null').key.replace(/7-1$/, '')]);
    expect(keys('build', 'null').key).toMatch(/_build_none_7-1$/);
    expect(matrixDigest('[a, b]')).not.toBe(matrixDigest('[a, c]'));
    expect(matrixDigest('[a, b]')).toMatch(/^[0-9a-f]{12}$/);
  });

  it("no job's prefix is the start of another job's key", () => {
    const test = keys('test', '');
    for (const other of ['test-e2e', 'test e2e', 'testing', 'test_m']) {
      const k = keys(other, '');
      expect(k.key.startsWith(test.restoreKeys[0]!)).toBe(false);
      expect(test.key.startsWith(k.restoreKeys[0]!)).toBe(false);
    }
  });

  it("a save supersedes only its leg's older entries, never the job's other legs'", async () => {
    const k = keys('test', '{"docker":"28"}');
    const given: string[][] = [];
    const backend: CacheBackend = { name: 'b', restore: async () => undefined, save: async (_key, _produce, _max, supersedes = []) => (given.push(supersedes), { outcome: 'saved', bytes: 1 }) };
    const record: CacheRecord = { settings: use().cache, key: k.key, restoreKeys: k.restoreKeys, backend: 'b', hit: 'false' };
    const log = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {} };
    await saveEntry(backend, record, { ids: ['a'], refs: ['x'] }, async () => Readable.from([]), log);
    expect(given).toEqual([[k.restoreKeys[0]]]);
  });

  it('explicit keys are kept as given', () => {
    expect(cacheKeys(use('mine'), job('t', '{"a":1}'))).toEqual({ key: 'mine', restoreKeys: [] });
    expect(cacheKeys(use('mine', ['m-']), job('t', '{"a":1}'))).toEqual({ key: 'mine', restoreKeys: ['m-'] });
  });
});

describe('selectImages', () => {
  it("never counts the run probe's image, which may come and go while main lists the daemon's images", async () => {
    const listed = [
      { id: 'sha256:b', tags: ['busybox:1'] },
      { id: 'sha256:p', tags: [PROBE_IMAGE] },
      { id: 'sha256:a', tags: ['alpine:3'] },
    ];
    const engine = { listImages: async () => listed } as unknown as EngineClient;
    expect(await selectImages(engine, [])).toEqual({ ids: ['sha256:a', 'sha256:b'], refs: ['busybox:1', 'alpine:3'] });
    expect(await selectImages(engine, ['setup-dind-probe'])).toEqual({ ids: [], refs: [] });
  });
});
