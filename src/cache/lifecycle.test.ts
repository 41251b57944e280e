// The cache lifecycle against the REST API part of the cache service stand-in (test/cache-server), through the
// GitHub inventory the action uses (platform/github-caches.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestCacheServer, startCacheServer } from '../../test/cache-server/server.js';
import { fieldsOf } from '../fields.js';
import { githubCacheInventory } from '../platform/github-caches.js';
import type { CacheInventory, Logger } from '../platform/platform.js';
import { entriesToRemove, pruneOlderEntries, prunePrefix } from './lifecycle.js';
import { parseCacheKeep } from './settings.js';

function logger() {
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
    error: (m) => lines.push(`error ${m}`),
    debug: () => undefined,
    notice: (m) => lines.push(`notice ${m}`),
  };
  return { log, lines };
}

describe('parseCacheKeep', () => {
  const parse = (text: string) => {
    const f = fieldsOf<'cache-keep'>(() => text, { 'cache-keep': '1' });
    return { keep: parseCacheKeep(f), problems: f.problems };
  };
  it('takes 1 to 100, and all', () => {
    expect(parse('1')).toEqual({ keep: 1, problems: [] });
    expect(parse(' 100 ')).toEqual({ keep: 100, problems: [] });
    expect(parse('ALL')).toEqual({ keep: undefined, problems: [] });
  });
  it('rejects anything else, naming the input, the value and the remedy', () => {
    for (const bad of ['0', '101', '-1', '1.5', 'some', '', '1e3']) {
      const { problems } = parse(bad);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^input "cache-keep": ".*" is not a number of entries; use 1 to 100 .* or all/);
    }
  });
});

describe('prunePrefix and entriesToRemove', () => {
  it('groups by the longest restore key the saved key starts with', () => {
    expect(prunePrefix('setup-dind-images-linux-x64-dind-1-1', ['setup-dind-images-linux-x64-dind-'])).toBe('setup-dind-images-linux-x64-dind-');
    expect(prunePrefix('app-v2-7', ['app-', 'app-v2-', 'other-'])).toBe('app-v2-');
    expect(prunePrefix('exact', [])).toBeUndefined();
    expect(prunePrefix('exact', ['exact', 'unrelated-'])).toBeUndefined();
  });
  it('keeps the newest N by creation and never the entry just saved', () => {
    const at = (key: string, minute: number, id = minute) => ({ id, key, ref: 'refs/heads/main', createdAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(), sizeBytes: 1 });
    const listed = [at('p-1', 1), at('p-3', 3), at('p-2', 2), at('p-4', 4)];
    expect(entriesToRemove(listed, 'p-4', 1).map((e) => e.key)).toEqual(['p-3', 'p-2', 'p-1']);
    expect(entriesToRemove(listed, 'p-4', 2).map((e) => e.key)).toEqual(['p-2', 'p-1']);
    // A newer entry of another run exists: it stays (the newest), and so does ours.
    expect(entriesToRemove(listed, 'p-3', 1).map((e) => e.key)).toEqual(['p-2', 'p-1']);
    expect(entriesToRemove(listed, 'p-4', 10)).toEqual([]);
  });
});

describe("pruneOlderEntries through GitHub's REST API (the stand-in)", () => {
  let server: TestCacheServer;
  let inventory: CacheInventory;
  beforeAll(async () => {
    server = await startCacheServer();
  });
  afterAll(async () => server?.close());
  const env = () => ({ GITHUB_API_URL: server.apiUrl, GITHUB_REPOSITORY: server.repository, GITHUB_REF: 'refs/heads/main' });
  let base = 0;
  beforeEach(() => {
    server.permission = 'write';
    server.faults = {};
    base += 1000_000;
    inventory = githubCacheInventory(env(), server.restToken)!;
  });
  /** Three entries of prefix p (oldest first), one of another prefix, one of p on another ref; returns the prefix. */
  function seed(): string {
    const p = `p${base}-`;
    const t = Date.UTC(2026, 0, 1) + base;
    for (const [i, key] of [`${p}1`, `${p}2`, `${p}3`].entries()) server.addEntry({ key, createdAt: t + i * 1000, data: Buffer.alloc(1024 * 1024) });
    server.addEntry({ key: `other${base}-1`, createdAt: t });
    server.addEntry({ key: `${p}0`, ref: 'refs/heads/feature', createdAt: t - 1000 });
    return p;
  }
  const keys = () => server.entries().map((e) => `${e.ref} ${e.key}`).filter((k) => k.includes(String(base))).sort();

  it('is undefined without the API address, repository, ref or a token', () => {
    expect(githubCacheInventory(env(), '')).toBeUndefined();
    expect(githubCacheInventory(env(), 'a\nb')).toBeUndefined();
    expect(githubCacheInventory({ ...env(), GITHUB_REF: undefined }, 't')).toBeUndefined();
    expect(githubCacheInventory({ ...env(), GITHUB_API_URL: '' }, 't')).toBeUndefined();
  });

  it('removes the older entries of the prefix on this ref only, keeping the newest N, and says so', async () => {
    const p = seed();
    const { log, lines } = logger();
    const report = await pruneOlderEntries(inventory, { key: `${p}3`, restoreKeys: [p] }, 1, log);
    expect(report.removed.map((e) => e.key)).toEqual([`${p}2`, `${p}1`]);
    expect(keys()).toEqual([`refs/heads/feature ${p}0`, `refs/heads/main other${base}-1`, `refs/heads/main ${p}3`]);
    expect(report.message).toBe(`removed 2 older entries of ${p}* on refs/heads/main (2.0 MB): ${p}2, ${p}1`);
    expect(report.summary).toContain(`| \`${p}2\` | 1.0 MB |`);
    expect(lines).toEqual([]);
    const listed = server.requests.filter((r) => r.route === 'ListCaches').at(-1)!;
    expect(new URL(listed.path, 'http://x').searchParams.get('ref')).toBe('refs/heads/main');
  });

  it('keeps as many as cache-keep says', async () => {
    const p = seed();
    const report = await pruneOlderEntries(inventory, { key: `${p}3`, restoreKeys: [p] }, 2, logger().log);
    expect(report.removed.map((e) => e.key)).toEqual([`${p}1`]);
    const again = await pruneOlderEntries(inventory, { key: `${p}3`, restoreKeys: [p] }, 2, logger().log);
    expect(again.removed).toEqual([]);
    expect(again.message).toBe(`no older entries of ${p}* on refs/heads/main to remove (keeping the newest 2)`);
  });

  it('reads every page of a long list', async () => {
    const p = `many${base}-`;
    for (let i = 0; i < 150; i++) server.addEntry({ key: `${p}${i}`, createdAt: Date.UTC(2026, 0, 1) + i });
    expect(await inventory.list(p)).toHaveLength(150);
    const report = await pruneOlderEntries(inventory, { key: `${p}149`, restoreKeys: [p] }, 1, logger().log);
    expect(report.removed).toHaveLength(149);
    expect(await inventory.list(p)).toHaveLength(1);
  });

  it('without actions: write (403): a notice naming permissions: actions: write, nothing removed, no warning', async () => {
    const p = seed();
    server.permission = 'read';
    const { log, lines } = logger();
    const report = await pruneOlderEntries(inventory, { key: `${p}3`, restoreKeys: [p] }, 1, log);
    expect(report.removed).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^notice setup-dind cache: older entries of .* were not removed: .*HTTP 403 Resource not accessible by integration.*permissions: actions: write/);
    expect(report.summary).toContain('permissions: actions: write');
    expect(keys()).toHaveLength(5);
  });

  it('a wrong token (401) is the same notice; a failing API (500) or none at all is a warning', async () => {
    const p = seed();
    const bad = githubCacheInventory(env(), 'not-the-token')!;
    const a = logger();
    await pruneOlderEntries(bad, { key: `${p}3`, restoreKeys: [p] }, 1, a.log);
    expect(a.lines[0]).toMatch(/^notice .*HTTP 401 Bad credentials/);
    server.faults.status = { route: 'DeleteCache', code: 500, times: 1 };
    const b = logger();
    const report = await pruneOlderEntries(inventory, { key: `${p}3`, restoreKeys: [p] }, 1, b.log);
    expect(b.lines[0]).toMatch(/^warning setup-dind cache: removing older entries of .* failed \(DELETE .*HTTP 500/);
    expect(report.message).toMatch(/stopped by an error$/);
    const down = githubCacheInventory({ ...env(), GITHUB_API_URL: 'http://127.0.0.1:9' }, server.restToken)!;
    const c = logger();
    await pruneOlderEntries(down, { key: `${p}3`, restoreKeys: [p] }, 1, c.log);
    expect(c.lines[0]).toMatch(/^warning .*got no answer/);
  });

  it('a key without a restore prefix: nothing is listed or removed', async () => {
    const before = server.requests.length;
    const report = await pruneOlderEntries(inventory, { key: 'exact-key', restoreKeys: [] }, 1, logger().log);
    expect(report.message).toMatch(/has no restore key prefix/);
    expect(server.requests.length).toBe(before);
  });

  it('another repository is 404 (a warning)', async () => {
    const other = githubCacheInventory({ ...env(), GITHUB_REPOSITORY: 'someone/else' }, server.restToken)!;
    const { log, lines } = logger();
    await pruneOlderEntries(other, { key: 'p-2', restoreKeys: ['p-'] }, 1, log);
    expect(lines[0]).toMatch(/^warning .*HTTP 404 Not Found/);
  });
});
