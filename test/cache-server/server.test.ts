// End-to-end tests of the REAL @actions/cache client (saveCache / restoreCache, which shell out to tar and zstd)
// against the loopback cache service in ./server.ts. Every assertion about log lines / return values below is
// what @actions/cache 6.3.0 actually does; see the comments in server.ts for where in its code each comes from.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as cache from '@actions/cache';
// A dependency of @actions/cache (hoisted into node_modules), used to drive the blob emulation directly.
import { BlockBlobClient } from '@azure/storage-blob';
import {
  AZURE_HOST,
  TWIRP_PREFIX,
  applyEnv,
  startCacheServer,
  type StartOptions,
  type TestCacheServer,
} from './server.js';

// @actions/cache uses zstd when `zstd --quiet --version` prints anything (cacheUtils.getCompressionMethod), and
// then always the "zstd-without-long" method (tar --use-compress-program zstdmt / unzstd, archive cache.tzst);
// otherwise gzip (tar -z, cache.tgz). Debian's zstd is installed here, so we expect zstd-without-long.
const HAS_ZSTD = spawnSync('zstd', ['--quiet', '--version']).status === 0;
const METHOD = HAS_ZSTD ? 'zstd-without-long' : 'gzip';

/** cacheUtils.getCacheVersion on Linux: sha256 of paths, compression method and the salt '1.0', joined by '|'. */
const versionOf = (paths: string[]) => createHash('sha256').update([...paths, METHOD, '1.0'].join('|')).digest('hex');

let server: TestCacheServer | undefined;
let workspace = '';
let out: string[] = [];
const cleanups: Array<() => void> = [];

/** Starts a server, points process.env at it (restored after the test) and captures @actions/core's stdout. */
async function start(opts: StartOptions = {}, extraEnv: Record<string, string | undefined> = {}): Promise<TestCacheServer> {
  const s = await startCacheServer(opts);
  server = s;
  workspace = mkdtempSync(join(tmpdir(), 'cache-server-ws-'));
  cleanups.push(applyEnv({ ...s.env(), GITHUB_WORKSPACE: workspace, SEGMENT_DOWNLOAD_TIMEOUT_MINS: undefined, ...extraEnv }));
  out = [];
  const realWrite = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  cleanups.push(() => {
    process.stdout.write = realWrite;
  });
  return s;
}

afterEach(async () => {
  while (cleanups.length) cleanups.pop()!();
  await server?.close();
  server = undefined;
  if (workspace) rmSync(workspace, { recursive: true, force: true });
  workspace = '';
});

const lines = () => out.join('').split('\n').filter(Boolean);
const warnings = () => lines().filter((l) => l.startsWith('::warning::')).map((l) => l.slice('::warning::'.length));
const errors = () => lines().filter((l) => l.startsWith('::error::'));
const infos = () => lines().filter((l) => !l.startsWith('::'));
const debugs = () => lines().filter((l) => l.startsWith('::debug::'));
const routes = (s: TestCacheServer) => s.requests.map((r) => r.route);

/** Writes files (relative to the workspace) and returns their absolute paths. */
function writeFiles(files: Record<string, string | Buffer>): string[] {
  return Object.entries(files).map(([rel, content]) => {
    const abs = join(workspace, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, content);
    return abs;
  });
}

/**
 * Shrinks the client's retry sleeps (twirp: 3 s, 4.5-6.75 s, ...; requestUtils: 5 s) to 5 ms so retry paths run
 * in milliseconds. Only delays between 1 s and 60 s are touched; the retry logic itself is the library's own.
 */
function fastRetries(): void {
  const real = globalThis.setTimeout;
  const patched = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    real(fn, ms !== undefined && ms >= 1000 && ms <= 60_000 ? 5 : ms, ...args);
  globalThis.setTimeout = patched as unknown as typeof setTimeout;
  cleanups.push(() => {
    globalThis.setTimeout = real;
  });
}

async function twirp(s: TestCacheServer, method: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}${TWIRP_PREFIX}${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('environment', () => {
  it('env() selects cache service v2 on this server with a well-formed unsigned runtime JWT', async () => {
    const s = await start();
    const env = s.env();
    expect(env).toMatchObject({
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: `${s.url}/`,
      GITHUB_SERVER_URL: 'https://github.com',
      HTTP_PROXY: s.url,
      NO_PROXY: '127.0.0.1,localhost',
    });
    const [header, claims, signature] = env.ACTIONS_RUNTIME_TOKEN!.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'none' });
    expect(JSON.parse(Buffer.from(claims!, 'base64url').toString()).scp).toMatch(/Actions\.Results:[0-9a-f-]{36}:[0-9a-f-]{36}/);
    expect(signature).toBe('');
    expect(cache.isFeatureAvailable()).toBe(true);
  });
});

describe('@actions/cache against the test server (Azure SDK paths via the proxy)', () => {
  it('saves, then restores the exact key with identical file contents', async () => {
    const s = await start();
    const paths = writeFiles({ 'deps/a.txt': 'alpha\n'.repeat(500), 'deps/sub/b.bin': randomBytes(3000) });
    const [a, b] = paths.map((p) => readFileSync(p));
    const dir = join(workspace, 'deps');

    const id = await cache.saveCache([dir], 'deps-linux-1');
    expect(id).toBe(1); // parseInt(FinalizeCacheEntryUpload.entry_id)
    expect(routes(s)).toEqual(['CreateCacheEntry', 'upload', 'FinalizeCacheEntryUpload']);
    const [create, upload, finalize] = s.requests;
    // Wire format: snake_case proto field names, int64 as a JSON string.
    expect(create!.body).toEqual({ key: 'deps-linux-1', version: versionOf([dir]) });
    expect(upload).toMatchObject({ method: 'PUT', host: AZURE_HOST, op: 'PutBlob', status: 201 });
    const [entry] = s.entries();
    expect(entry).toMatchObject({ key: 'deps-linux-1', version: versionOf([dir]), finalized: true });
    expect(finalize!.body).toEqual({ key: 'deps-linux-1', version: versionOf([dir]), size_bytes: String(entry!.size) });
    expect(entry!.size).toBe(entry!.data.length);
    if (HAS_ZSTD) expect(entry!.data.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])); // zstd frame magic
    expect(lines().find((l) => l.startsWith('[command]'))).toContain(HAS_ZSTD ? '-cf cache.tzst' : '-cf cache.tgz');
    expect(lines().find((l) => l.startsWith('[command]'))).toContain(HAS_ZSTD ? '--use-compress-program zstdmt' : ' -z');

    rmSync(dir, { recursive: true });
    s.requests.length = 0;
    expect(await cache.restoreCache([dir], 'deps-linux-1', ['deps-'])).toBe('deps-linux-1');
    expect(readFileSync(paths[0]!)).toEqual(a);
    expect(readFileSync(paths[1]!)).toEqual(b);
    expect(infos()).toContain('Cache hit for: deps-linux-1');
    // Azure SDK download: getProperties (HEAD), then downloadToBuffer's ranged GET(s) with x-ms-range.
    expect(routes(s)).toEqual(['GetCacheEntryDownloadURL', 'properties', 'download']);
    expect(s.requests[0]!.body).toEqual({ key: 'deps-linux-1', restore_keys: ['deps-'], version: versionOf([dir]) });
    expect(s.requests[2]).toMatchObject({ op: 'GetBlob', status: 206, range: `bytes=0-${entry!.size - 1}` });
    expect(warnings()).toEqual([]);
    expect(errors()).toEqual([]);
  });

  it('downloads a >4 MiB archive as several 4 MiB x-ms-range GETs', async () => {
    const s = await start();
    const [big] = writeFiles({ 'big.bin': randomBytes(9 * 1024 * 1024) });
    const digest = createHash('sha256').update(readFileSync(big!)).digest('hex');
    expect(await cache.saveCache([big!], 'big')).toBe(1);
    rmSync(big!);
    s.requests.length = 0;
    expect(await cache.restoreCache([big!], 'big')).toBe('big');
    expect(createHash('sha256').update(readFileSync(big!)).digest('hex')).toBe(digest);
    const gets = s.requests.filter((r) => r.route === 'download');
    expect(gets.length).toBe(3);
    expect(gets.map((r) => r.range).sort()).toEqual(
      expect.arrayContaining(['bytes=0-4194303', 'bytes=4194304-8388607', expect.stringMatching(/^bytes=8388608-\d+$/)]),
    );
  });

  it('falls back to restore keys as prefixes, newest entry first, and only within the same version', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'B' });
    await cache.saveCache([file!], 'deps-linux-b');
    writeFileSync(file!, 'A');
    await cache.saveCache([file!], 'deps-linux-a'); // newer, although it sorts first
    writeFileSync(file!, 'Z');
    await cache.saveCache([file!], 'other-linux-z');
    expect(s.entries().map((e) => e.key)).toEqual(['deps-linux-b', 'deps-linux-a', 'other-linux-z']);

    expect(await cache.restoreCache([file!], 'deps-linux-c', ['nope-', 'deps-linux-', 'other-'])).toBe('deps-linux-a');
    expect(readFileSync(file!, 'utf8')).toBe('A');
    expect(infos()).toContain('Cache hit for restore-key: deps-linux-a');

    // An exact primary-key hit wins over newer prefix matches.
    expect(await cache.restoreCache([file!], 'deps-linux-b', ['deps-linux-'])).toBe('deps-linux-b');
    expect(readFileSync(file!, 'utf8')).toBe('B');

    // docs.github.com: with no exact hit, the primary key is itself tried as a prefix before the restore keys.
    expect(await cache.restoreCache([file!], 'deps-')).toBe('deps-linux-a');

    // Another path list = another version: nothing matches, not even the exact key.
    const [other] = writeFiles({ 'g.txt': 'x' });
    expect(await cache.restoreCache([other!], 'deps-linux-a', ['deps-'])).toBeUndefined();
    expect(await cache.restoreCache([file!, other!], 'deps-linux-a')).toBeUndefined();
    expect(warnings()).toEqual([]);
  });

  it('a miss returns undefined without warnings and without touching the blob store', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.restoreCache([file!], 'absent', ['absent-'])).toBeUndefined();
    expect(routes(s)).toEqual(['GetCacheEntryDownloadURL']);
    expect(warnings()).toEqual([]);
    expect(errors()).toEqual([]);
  });

  it('saving an existing key again: 409 from CreateCacheEntry, reported as ReserveCacheError via info, returns -1', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'first' });
    expect(await cache.saveCache([file!], 'dup')).toBe(1);
    writeFileSync(file!, 'second');
    // saveCache does not throw: ReserveCacheError is caught and logged with core.info (not a warning).
    expect(await cache.saveCache([file!], 'dup')).toBe(-1);
    expect(infos()).toContain('Failed to save: Unable to reserve cache with key dup, another job may be creating this cache.');
    expect(debugs().join('\n')).toContain(
      'Failed to CreateCacheEntry: Received non-retryable error: Failed request: (409) Conflict: cache entry with the same key, version, and scope already exists',
    );
    expect(warnings()).toEqual([]);
    expect(s.requests.at(-1)).toMatchObject({ route: 'CreateCacheEntry', status: 409 });
    expect(s.requests.filter((r) => r.route === 'CreateCacheEntry')).toHaveLength(2); // 409 is not retried
    expect(s.entries()).toHaveLength(1);
    expect(s.entries()[0]!.finalized).toBe(true);
  });

  it('faults.reserveConflict: same client behaviour on a fresh key, nothing uploaded', async () => {
    const s = await start();
    s.faults.reserveConflict = true;
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.saveCache([file!], 'fresh')).toBe(-1);
    expect(infos()).toContain('Failed to save: Unable to reserve cache with key fresh, another job may be creating this cache.');
    expect(routes(s)).toEqual(['CreateCacheEntry']);
    expect(s.requests[0]).toMatchObject({ status: 409, fault: 'reserveConflict' });
    expect(s.entries()).toEqual([]);
  });

  it("faults.createNotOk with the service's read-only-token message: CacheWriteDeniedError, logged as one warning", async () => {
    const s = await start();
    s.faults.createNotOk = 'cache write denied: token has no writable scopes';
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.saveCache([file!], 'denied')).toBe(-1);
    expect(warnings()).toEqual(['Failed to save: Unable to reserve cache with key denied. More details: cache write denied: token has no writable scopes']);
    expect(routes(s)).toEqual(['CreateCacheEntry']);
  });

  it('an entry is invisible until FinalizeCacheEntryUpload succeeds (400 on finalize: warning, -1, restore misses)', async () => {
    const s = await start();
    s.faults.status = { route: 'FinalizeCacheEntryUpload', code: 400, times: 1 };
    const [file] = writeFiles({ 'f.txt': 'payload' });
    expect(await cache.saveCache([file!], 'unfinished')).toBe(-1);
    expect(warnings()).toEqual([
      'Failed to save: Failed to FinalizeCacheEntryUpload: Received non-retryable error: Failed request: (400) Bad Request: injected fault on FinalizeCacheEntryUpload',
    ]);
    expect(s.faults.status).toBeUndefined(); // consumed
    const [entry] = s.entries();
    expect(entry).toMatchObject({ key: 'unfinished', finalized: false, size: 0 });
    expect(entry!.data.length).toBeGreaterThan(0); // the blob was uploaded
    expect(await cache.restoreCache([file!], 'unfinished', ['unfin'])).toBeUndefined();
    // The pending reservation still holds the key ("another job may be creating this cache").
    expect(await cache.saveCache([file!], 'unfinished')).toBe(-1);
    expect(s.requests.at(-1)).toMatchObject({ route: 'CreateCacheEntry', status: 409 });
  });

  it('maxEntryBytes: FinalizeCacheEntryUpload answers ok:false; the client warns with the bare message (FinalizeCacheError)', async () => {
    const s = await start({ maxEntryBytes: 16 });
    const [file] = writeFiles({ 'f.txt': randomBytes(200) });
    expect(await cache.saveCache([file!], 'too-big')).toBe(-1);
    const size = s.entries()[0]!.data.length;
    expect(warnings()).toEqual([`cache entry size ${size} B exceeds the maximum of 16 B`]);
    expect(s.entries()[0]!.finalized).toBe(false);
  });

  it('500 on GetCacheEntryDownloadURL: 5 attempts with backoff, then undefined and a warning, no throw', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'x' });
    await cache.saveCache([file!], 'k');
    s.requests.length = 0;
    s.faults.status = { route: 'GetCacheEntryDownloadURL', code: 500 };
    fastRetries();
    await expect(cache.restoreCache([file!], 'k')).resolves.toBeUndefined();
    expect(routes(s)).toEqual(Array(5).fill('GetCacheEntryDownloadURL'));
    expect(s.requests.every((r) => r.status === 500)).toBe(true);
    expect(infos()).toContain(
      'Attempt 1 of 5 failed with error: Failed request: (500) Internal Server Error: injected fault on GetCacheEntryDownloadURL. Retrying request in 3000 ms...',
    );
    // Not an HttpClientError, so it is a warning rather than core.error.
    expect(warnings()).toEqual([
      'Failed to restore: Failed to GetCacheEntryDownloadURL: Failed to make request after 5 attempts: Failed request: (500) Internal Server Error: injected fault on GetCacheEntryDownloadURL',
    ]);
    expect(errors()).toEqual([]);
  });

  it('one 503 on GetCacheEntryDownloadURL is retried transparently', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'x' });
    await cache.saveCache([file!], 'k');
    s.requests.length = 0;
    s.faults.status = { route: 'GetCacheEntryDownloadURL', code: 503, times: 1 };
    fastRetries();
    expect(await cache.restoreCache([file!], 'k')).toBe('k');
    expect(s.requests.slice(0, 2).map((r) => [r.route, r.status])).toEqual([
      ['GetCacheEntryDownloadURL', 503],
      ['GetCacheEntryDownloadURL', 200],
    ]);
    expect(warnings()).toEqual([]);
  });

  it('a wrong runtime token gets 401 (not retried) and restore degrades to a warning', async () => {
    const s = await start({}, { ACTIONS_RUNTIME_TOKEN: 'not-the-token' });
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.restoreCache([file!], 'k')).toBeUndefined();
    expect(routes(s)).toEqual(['GetCacheEntryDownloadURL']);
    expect(warnings()).toEqual([
      'Failed to restore: Failed to GetCacheEntryDownloadURL: Received non-retryable error: Failed request: (401) Unauthorized: invalid or missing bearer token',
    ]);
  });

  it('one 500 on the blob upload is retried at once by the Azure SDK and the save succeeds', async () => {
    const s = await start();
    s.faults.status = { route: 'upload', code: 500, times: 1 };
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.saveCache([file!], 'k')).toBe(1);
    expect(s.requests.filter((r) => r.route === 'upload').map((r) => r.status)).toEqual([500, 201]);
    expect(s.entries()[0]!.finalized).toBe(true);
    expect(warnings()).toEqual([]);
  });

  it('a 403 on the blob upload fails the save with two warnings and never finalizes', async () => {
    const s = await start();
    s.faults.status = { route: 'upload', code: 403, message: 'signature expired' };
    const [file] = writeFiles({ 'f.txt': 'x' });
    expect(await cache.saveCache([file!], 'k')).toBe(-1);
    expect(routes(s)).toEqual(['CreateCacheEntry', 'upload']); // 403 is not retried
    const w = warnings();
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/^uploadCacheArchiveSDK: internal error uploading cache archive: signature expired/);
    expect(w[1]).toMatch(/^Failed to save: signature expired/);
    expect(s.entries()[0]).toMatchObject({ finalized: false, size: 0 });
  });

  it('one 500 on the blob GET is retried at once by the Azure SDK and the restore succeeds', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'content' });
    await cache.saveCache([file!], 'k');
    rmSync(file!);
    s.faults.status = { route: 'download', code: 500, times: 1 };
    expect(await cache.restoreCache([file!], 'k')).toBe('k');
    expect(readFileSync(file!, 'utf8')).toBe('content');
    expect(s.requests.filter((r) => r.route === 'download').map((r) => r.status)).toEqual([500, 206]);
  });

  it('a truncated blob download is NOT retried: restore returns undefined with "The operation was aborted."', async () => {
    const s = await start();
    const [file] = writeFiles({ 'f.txt': 'some content that will be cut off'.repeat(50) });
    await cache.saveCache([file!], 'k');
    rmSync(file!);
    s.requests.length = 0;
    s.faults.truncateDownload = 1;
    await expect(cache.restoreCache([file!], 'k')).resolves.toBeUndefined();
    // Node emits 'aborted' on the short response; the SDK's RetriableReadableStream turns that into an AbortError
    // instead of re-requesting the missing range (its maxRetryRequests only covers a clean early 'end').
    expect(warnings()).toEqual(['Failed to restore: The operation was aborted.']);
    expect(s.requests.filter((r) => r.route === 'download')).toHaveLength(1);
    expect(s.requests.at(-1)).toMatchObject({ fault: 'truncate', status: 206 });
    expect(() => readFileSync(file!)).toThrow(); // nothing extracted
  });

  it('a hanging blob download is cut off by SEGMENT_DOWNLOAD_TIMEOUT_MINS', async () => {
    const s = await start({}, { SEGMENT_DOWNLOAD_TIMEOUT_MINS: '0.02' }); // 1.2 s (default: 10 min)
    const [file] = writeFiles({ 'f.txt': 'x' });
    await cache.saveCache([file!], 'k');
    s.faults.hang = { route: 'download' };
    const t0 = Date.now();
    await expect(cache.restoreCache([file!], 'k')).resolves.toBeUndefined();
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1100);
    expect(elapsed).toBeLessThan(4000);
    expect(warnings()).toEqual(['Failed to restore: Aborting cache download as the download time exceeded the timeout.']);
    expect(s.requests.at(-1)).toMatchObject({ route: 'download', fault: 'hang', status: 0 });
  });
});

describe('@actions/cache with loopback blob URLs (non-Azure host: plain @actions/http-client GET)', () => {
  it('round-trips; the download is one GET without Range and without HEAD', async () => {
    const s = await start({ blobUrls: 'loopback' });
    expect(s.env().HTTP_PROXY).toBe('');
    const [file] = writeFiles({ 'f.txt': 'loopback content' });
    expect(await cache.saveCache([file!], 'lb')).toBe(1);
    expect(s.requests[1]).toMatchObject({ route: 'upload', op: 'PutBlob', host: `127.0.0.1:${s.port}` });
    expect(s.requests[1]!.path).toMatch(/^\/setupdindcache\/actions-cache\//);
    rmSync(file!);
    s.requests.length = 0;
    expect(await cache.restoreCache([file!], 'lb')).toBe('lb');
    expect(readFileSync(file!, 'utf8')).toBe('loopback content');
    expect(routes(s)).toEqual(['GetCacheEntryDownloadURL', 'download']);
    expect(s.requests[1]!.range).toBeUndefined();
    expect(s.requests[1]!.status).toBe(200);
  });

  it('a truncated download fails the restore with "aborted" (no retry)', async () => {
    const s = await start({ blobUrls: 'loopback' });
    const [file] = writeFiles({ 'f.txt': 'y'.repeat(5000) });
    await cache.saveCache([file!], 'lb');
    s.faults.truncateDownload = true;
    await expect(cache.restoreCache([file!], 'lb')).resolves.toBeUndefined();
    expect(warnings()).toEqual(['Failed to restore: aborted']);
    expect(s.requests.filter((r) => r.route === 'download')).toHaveLength(1);
  });

  it('a hanging download ignores SEGMENT_DOWNLOAD_TIMEOUT_MINS (that only guards the Azure SDK path)', async () => {
    const s = await start({ blobUrls: 'loopback' }, { SEGMENT_DOWNLOAD_TIMEOUT_MINS: '0.005' }); // 0.3 s
    const [file] = writeFiles({ 'f.txt': 'x' });
    await cache.saveCache([file!], 'lb');
    s.faults.hang = { route: 'download' };
    let settled = false;
    const restoring = cache.restoreCache([file!], 'lb').finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    // Still waiting: before response headers only http-client's 3-minute request timeout applies.
    expect(settled).toBe(false);
    fastRetries();
    await s.close(); // drop the connection: the GET is retried once (after 5 s, shortened here) and refused
    await expect(restoring).resolves.toBeUndefined();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatch(/^Failed to restore: downloadCache failed: /);
  });
});

describe('blob emulation driven directly by @azure/storage-blob', () => {
  it('stages blocks + commits a block list (uploadData / uploadStream) and serves ranged downloadToBuffer', async () => {
    const s = await start();
    const version = 'f'.repeat(64);
    for (const [key, how] of [
      ['blocks-data', 'uploadData'],
      ['blocks-stream', 'uploadStream'],
    ] as const) {
      const created = await twirp(s, 'CreateCacheEntry', { key, version });
      expect(created).toMatchObject({ ok: true, signed_upload_url: expect.stringContaining(`http://${AZURE_HOST}/`) });
      const data = randomBytes(2_500_000);
      const client = new BlockBlobClient(created.signed_upload_url as string);
      if (how === 'uploadData') {
        await client.uploadData(data, { blockSize: 1024 * 1024, maxSingleShotSize: 1024 * 1024, concurrency: 2 });
      } else {
        const { Readable } = await import('node:stream');
        await client.uploadStream(Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]), 1024 * 1024, 2);
      }
      const ops = s.requests.filter((r) => r.route === 'upload').map((r) => r.op);
      expect(ops.filter((o) => o === 'PutBlock').length).toBeGreaterThanOrEqual(3);
      expect(ops.at(-1)).toBe('PutBlockList');
      s.requests.length = 0;

      // Not visible before finalize.
      expect(await twirp(s, 'GetCacheEntryDownloadURL', { key, version })).toMatchObject({ ok: false });
      expect(await twirp(s, 'FinalizeCacheEntryUpload', { key, version, size_bytes: String(data.length) })).toMatchObject({ ok: true });
      const found = await twirp(s, 'GetCacheEntryDownloadURL', { key, version });
      expect(found).toMatchObject({ ok: true, matched_key: key });

      const reader = new BlockBlobClient(found.signed_download_url as string);
      expect((await reader.getProperties()).contentLength).toBe(data.length);
      const got = await reader.downloadToBuffer(0, undefined, { blockSize: 1024 * 1024, concurrency: 2 });
      expect(got.equals(data)).toBe(true);
      expect(s.requests.filter((r) => r.route === 'download').map((r) => r.range).sort()).toEqual([
        'bytes=0-1048575',
        'bytes=1048576-2097151',
        'bytes=2097152-2499999',
      ]);
      s.requests.length = 0;
    }
  });

  it('serves a blob through a CONNECT tunnel (what @actions/http-client does via HTTP_PROXY)', async () => {
    const s = await start();
    const key = 'tunnel';
    const version = 'e'.repeat(64);
    const created = await twirp(s, 'CreateCacheEntry', { key, version });
    await new BlockBlobClient(created.signed_upload_url as string).upload('tunnelled bytes', 15);
    await twirp(s, 'FinalizeCacheEntryUpload', { key, version, size_bytes: '15' });
    const found = await twirp(s, 'GetCacheEntryDownloadURL', { key, version });
    const { HttpClient } = await import('@actions/http-client');
    const client = new HttpClient('test');
    try {
      const res = await client.get(found.signed_download_url as string);
      expect(res.message.statusCode).toBe(200);
      expect(await res.readBody()).toBe('tunnelled bytes');
    } finally {
      client.dispose();
    }
    expect(s.requests.slice(-2)).toMatchObject([
      { method: 'CONNECT', route: 'tunnel', path: `${AZURE_HOST}:80` },
      { method: 'GET', route: 'download', host: AZURE_HOST, status: 200 },
    ]);
  });

  it('rejects blob requests with the wrong signature and unknown twirp methods', async () => {
    const s = await start();
    const created = await twirp(s, 'CreateCacheEntry', { key: 'k', version: 'v' });
    const url = new URL(created.signed_upload_url as string);
    url.searchParams.set('sig', 'forged');
    await expect(new BlockBlobClient(url.href).upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });
    const res = await fetch(`${s.url}${TWIRP_PREFIX}DeleteCacheEntry`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });
});
