// A loopback stand-in for GitHub's cache service v2 and the Azure Blob Storage endpoint behind it, so the real
// `@actions/cache` client (saveCache / restoreCache) can be exercised end to end without network access.
//
// What the client does, read from node_modules/@actions/cache/lib (v6.3.0) and @azure/storage-blob (12.31):
//
// * Service selection (internal/config.js): v2 iff ACTIONS_CACHE_SERVICE_V2 is non-empty AND the host is not GHES.
//   isGhes() parses GITHUB_SERVER_URL (default https://github.com); any host other than github.com, *.ghe.com or
//   *.localhost counts as GHES and forces v1, so GITHUB_SERVER_URL must stay github.com-like.
// * Base URL: ACTIONS_RESULTS_URL; twirp calls go to new URL(`/twirp/${service}/${method}`, base), i.e. the base
//   path is ignored. Auth: `Authorization: Bearer ${ACTIONS_RUNTIME_TOKEN}`; the token is only required to be
//   non-empty, the cache client never decodes it (we still hand out a well-formed unsigned JWT).
// * Twirp (generated/results/api/v1/cache.twirp-client.js): POST application/json to
//   /twirp/github.actions.results.api.v1.CacheService/{CreateCacheEntry,FinalizeCacheEntryUpload,GetCacheEntryDownloadURL}.
//   Requests are serialised with useProtoFieldName, i.e. snake_case (`restore_keys`, `size_bytes`); int64 as JSON
//   strings. Responses are read with fromJson, which accepts snake_case or camelCase; we answer snake_case like the
//   real (Go twirp) service. Errors must be JSON `{code,msg}`: a non-JSON body is a SyntaxError, which the client
//   treats as retryable. 500/502/503/504 are retried (5 attempts, 3 s then x1.5 backoff); 429 throws
//   RateLimitError; everything else is "Received non-retryable error: Failed request: (code) Reason: msg".
//   Connection errors (ECONNRESET, ECONNREFUSED, ETIMEDOUT, ...) throw NetworkError at once, without retrying.
// * Upload (internal/uploadUtils.js): always the Azure SDK, BlobClient(signed_upload_url).getBlockBlobClient()
//   .uploadFile(archive, {blockSize: 64 MiB, concurrency: 8, maxSingleShotSize: 128 MiB}). So archives up to
//   128 MiB are ONE "Put Blob" (PUT, x-ms-blob-type: BlockBlob, Content-Length); bigger ones are
//   PUT ?comp=block&blockid=<base64> per block, then PUT ?comp=blocklist with `<BlockList><Latest>id</Latest>…`.
//   The SDK retries 500/503 and network errors (delays 0 s, 4 s, 12 s; 4 tries) and has no client-side timeout.
// * Download (internal/cacheHttpClient.js downloadCache): ONLY if the URL's hostname ends in
//   `.blob.core.windows.net` does it use the Azure SDK: HEAD (getProperties -> Content-Length), then
//   downloadToBuffer in 4 MiB ranged GETs (`x-ms-range: bytes=a-b`, 8 in parallel), raced against
//   SEGMENT_DOWNLOAD_TIMEOUT_MINS (default 10 min). Any other host gets one plain @actions/http-client GET with no
//   Range, a Content-Length check, a 5 s idle-socket timeout once headers arrived and NO timeout before them
//   (http-client's 3 min request timeout is the only bound).
//
// Because of that hostname test the default `blobUrls: 'azure-proxy'` mode hands out
// http://<account>.blob.core.windows.net/... URLs and points HTTP_PROXY at this same server, which accepts
// absolute-URI proxy requests (what http-proxy-agent sends for http:// targets) and CONNECT tunnels. That keeps
// every request on 127.0.0.1 while the client takes its production (Azure SDK) code paths.
// `blobUrls: 'loopback'` hands out Azurite-style http://127.0.0.1:<port>/<account>/<container>/<blob> URLs instead.
//
// The same server also answers the REST API's cache management (docs.github.com "REST API endpoints for GitHub
// Actions cache"), at `apiUrl` (what GITHUB_API_URL is on a runner):
// * GET /repos/{owner}/{repo}/actions/caches?key=PREFIX&ref=REF&sort=created_at&direction=desc&per_page=N&page=P
//   -> 200 {total_count, actions_caches: [{id, ref, key, version, last_accessed_at, created_at, size_in_bytes}]};
//   `key` matches a prefix, `ref` exactly; sort last_accessed_at (default), created_at or size_in_bytes.
// * DELETE /repos/{owner}/{repo}/actions/caches/{id} -> 204; 404 when there is no such entry.
// Auth: `Authorization: Bearer <restToken>` (or `token <restToken>`), else 401 "Bad credentials". `permission`
// 'read' is a GITHUB_TOKEN without `actions: write`: listing works, DELETE answers 403 "Resource not accessible by
// integration" as GitHub does. Another repository than `repository` is 404. Entries made through the cache
// service get the ref in `ref` at the time they are created (the real service takes it from the runtime token).
//
// One module per API: twirp.ts (the cache service), blob.ts (the Azure blob upload/download), rest.ts (the REST cache
// management); common.ts holds their shared types and helpers. This file keeps the state, the fault plan, the routing
// and the proxy (absolute-URI requests and CONNECT tunnels), and composes them.

import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twirpApi } from './twirp.js';
import { blobApi } from './blob.js';
import { restApi } from './rest.js';
import { TWIRP_PREFIX, ACCOUNT, CONTAINER, AZURE_HOST, type TwirpRoute, type Route, type FaultPlan, type RequestRecord, type TestCacheServer, type StartOptions, type BlobState, type EntryState, makeRuntimeToken, readBody, type CacheContext } from './common.js';
export { TWIRP_PREFIX, ACCOUNT, CONTAINER, AZURE_HOST, type TwirpRoute, type Route, type RestRoute, type BlobOp, type CacheEntry, type FaultPlan, type RequestRecord, type TestCacheServer, type StartOptions, makeRuntimeToken, applyEnv } from './common.js';

export async function startCacheServer(opts: StartOptions = {}): Promise<TestCacheServer> {
  const maxEntryBytes = opts.maxEntryBytes ?? 10 * 1024 ** 3;
  const blobUrls = opts.blobUrls ?? 'azure-proxy';
  const token = makeRuntimeToken();
  const runnerTemp = mkdtempSync(join(tmpdir(), 'cache-server-runner-temp-'));
  const entries: EntryState[] = [];
  const blobs = new Map<string, BlobState>();
  const sockets = new Set<Socket>();
  let nextId = 1;
  let port = 0;

  const api: TestCacheServer = {
    url: '',
    port: 0,
    blobUrls,
    token,
    runnerTemp,
    env,
    entries: () =>
      entries.map((e) => ({
        id: e.id,
        ref: e.ref,
        key: e.key,
        version: e.version,
        size: e.size,
        finalized: e.finalized,
        createdAt: e.createdAt,
        data: Buffer.from(e.blob.committed ?? Buffer.alloc(0)),
      })),
    requests: [],
    faults: {},
    apiUrl: '',
    repository: opts.repository ?? 'harness/repo',
    restToken: `ghs_${randomBytes(18).toString('base64url')}`,
    permission: 'write',
    ref: 'refs/heads/main',
    addEntry,
    close,
  };

  function newBlob(id: number, key: string, version: string): BlobState {
    const now = new Date();
    const blob: BlobState = {
      name: `${id}-${createHash('sha256').update(`${key}\0${version}`).digest('hex').slice(0, 16)}`,
      uploadSig: randomBytes(24).toString('base64'),
      downloadSig: randomBytes(24).toString('base64'),
      blocks: new Map(),
      committedBlocks: new Map(),
      etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
      lastModified: now,
      createdOn: now,
    };
    blobs.set(blob.name, blob);
    return blob;
  }

  function addEntry(e: { key: string; ref?: string; version?: string; createdAt?: number; data?: Buffer }): number {
    const id = nextId++;
    const version = e.version ?? 'seeded';
    const blob = newBlob(id, e.key, version);
    blob.committed = e.data ?? Buffer.from('seeded entry');
    entries.push({ id, ref: e.ref ?? api.ref, key: e.key, version, size: blob.committed.length, finalized: true, createdAt: e.createdAt ?? Date.now(), blob });
    return id;
  }

  function env(): Record<string, string> {
    const proxy = blobUrls === 'azure-proxy' ? `http://127.0.0.1:${port}` : '';
    return {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: `http://127.0.0.1:${port}/`,
      ACTIONS_RUNTIME_TOKEN: token,
      // Not GHES (a GHES URL silently forces the v1 protocol).
      GITHUB_SERVER_URL: 'https://github.com',
      // v1-only; empty so nothing from the host runner leaks in.
      ACTIONS_CACHE_URL: '',
      // '' = unset = read+write allowed ('none'/'read' on a real runner would skip saves).
      ACTIONS_CACHE_MODE: '',
      // createTempDirectory() falls back to /home/actions/temp without it.
      RUNNER_TEMP: runnerTemp,
      // The Azure SDK takes HTTPS_PROXY || ALL_PROXY || HTTP_PROXY (either case) when a client is created and,
      // unlike @actions/http-client, has no loopback bypass. It reads NO_PROXY only once per process, so keep
      // this value constant. @actions/http-client always sends loopback URLs (the twirp calls) directly.
      HTTP_PROXY: proxy,
      http_proxy: proxy,
      HTTPS_PROXY: '',
      https_proxy: '',
      ALL_PROXY: '',
      all_proxy: '',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
  }

  function blobUrl(blob: BlobState, sig: string, perms: string): string {
    const base =
      blobUrls === 'azure-proxy'
        ? `http://${AZURE_HOST}/${CONTAINER}/${blob.name}`
        : `http://127.0.0.1:${port}/${ACCOUNT}/${CONTAINER}/${blob.name}`;
    const se = new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    return `${base}?sv=2025-11-05&sr=b&sp=${perms}&se=${encodeURIComponent(se)}&sig=${encodeURIComponent(sig)}`;
  }

  function takeFault<K extends 'status' | 'hang'>(kind: K, route: Route): NonNullable<FaultPlan[K]> | undefined {
    const fault = api.faults[kind];
    if (!fault || fault.route !== route) return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 0) {
        delete api.faults[kind];
        return undefined;
      }
      fault.times -= 1;
      if (fault.times === 0) delete api.faults[kind];
    }
    return fault as NonNullable<FaultPlan[K]>;
  }

  function takeTruncate(): boolean {
    const t = api.faults.truncateDownload;
    if (t === true) return true;
    if (typeof t === 'number' && t > 0) {
      if (t === 1) delete api.faults.truncateDownload;
      else api.faults.truncateDownload = t - 1;
      return true;
    }
    return false;
  }

  const ctx: CacheContext = { api, entries, blobs, token, maxEntryBytes, nextId: () => nextId++, newBlob, blobUrl, takeFault, takeTruncate };
  const { handleTwirp, twirpError } = twirpApi(ctx);
  const { handleBlob } = blobApi(ctx);
  const { handleRest, classifyRest } = restApi(ctx);

  function classify(req: IncomingMessage, url: URL): { route: Route | 'unknown'; blob?: BlobState; twirp?: TwirpRoute } {
    const rest = classifyRest(url);
    if (rest) return { route: rest.route };
    if (url.pathname.startsWith(TWIRP_PREFIX)) {
      const method = url.pathname.slice(TWIRP_PREFIX.length);
      if (method === 'GetCacheEntryDownloadURL' || method === 'CreateCacheEntry' || method === 'FinalizeCacheEntryUpload') {
        return { route: method, twirp: method };
      }
      return { route: 'unknown' };
    }
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (url.hostname !== AZURE_HOST && segs[0] === ACCOUNT) segs.shift();
    if (segs[0] !== CONTAINER || segs.length !== 2) return { route: 'unknown' };
    const blob = blobs.get(segs[1]!);
    const route = req.method === 'PUT' ? 'upload' : req.method === 'GET' ? 'download' : req.method === 'HEAD' ? 'properties' : 'unknown';
    return { route, blob };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `127.0.0.1:${port}`}`);
    const { route, blob, twirp } = classify(req, url);
    const rec: RequestRecord = { method: req.method ?? '?', path: url.pathname + url.search, route, status: 0, host: url.host };
    api.requests.push(rec);
    res.on('finish', () => {
      rec.status = res.statusCode;
    });
    if (route === 'unknown') {
      await readBody(req);
      if (url.pathname.startsWith('/twirp/')) return twirpError(res, 404, `no such twirp method: ${url.pathname}`);
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not emulated: ${req.method} ${url.href}\n`);
      return;
    }
    if (takeFault('hang', route)) {
      rec.fault = 'hang';
      await readBody(req).catch(() => undefined);
      return; // never answered
    }
    if (twirp) return handleTwirp(req, res, twirp, rec);
    const rest = classifyRest(url);
    if (rest) return handleRest(req, res, url, rest.route, rest.repo, rest.id, rec);
    return handleBlob(req, res, url, blob, rec);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: 'internal', msg: `test server bug: ${String(err)}` }));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // CONNECT tunnels (what @actions/http-client's tunnel agent does through an http proxy): answer 200 and feed
  // the tunnelled bytes back into this same HTTP server.
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    api.requests.push({ method: 'CONNECT', path: req.url ?? '', route: 'tunnel', status: 200, host: req.url ?? '' });
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    server.emit('connection', socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('unexpected server address');
  port = address.port;
  api.port = port;
  api.url = `http://127.0.0.1:${port}`;
  api.apiUrl = api.url;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= shutDown();
    return closing;
  }
  async function shutDown(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    await closed;
    rmSync(runnerTemp, { recursive: true, force: true });
  }

  return api;
}
