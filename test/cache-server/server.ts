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

import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/';
export const ACCOUNT = 'setupdindcache';
export const CONTAINER = 'actions-cache';
export const AZURE_HOST = `${ACCOUNT}.blob.core.windows.net`;

export type TwirpRoute = 'GetCacheEntryDownloadURL' | 'CreateCacheEntry' | 'FinalizeCacheEntryUpload';
/** upload = any PUT to a blob; download = GET of a blob; properties = HEAD of a blob (Azure SDK getProperties). */
export type Route = TwirpRoute | 'upload' | 'download' | 'properties' | RestRoute;
/** The REST API's cache management (list and delete). */
export type RestRoute = 'ListCaches' | 'DeleteCache';
export type BlobOp = 'PutBlob' | 'PutBlock' | 'PutBlockList' | 'GetBlob' | 'GetBlobProperties';

export interface CacheEntry {
  id: number;
  /** The ref the entry is scoped to (refs/heads/main, refs/pull/1/merge). */
  ref: string;
  key: string;
  version: string;
  /** The size the client declared in FinalizeCacheEntryUpload (0 until then). */
  size: number;
  finalized: boolean;
  createdAt: number;
  /** The committed blob (empty until something was uploaded). */
  data: Buffer;
}

export interface FaultPlan {
  /**
   * Answer the next matching request(s) with this status (twirp routes: a twirp JSON error; blob routes: an Azure
   * XML error). `times` omitted = every matching request until the fault is cleared; a number = that many, after
   * which the server deletes the fault. The request body is always read fully first.
   */
  status?: { route: Route; code: number; times?: number; message?: string };
  /**
   * Accept the request (body included) but never answer; the socket is only dropped by the client or close().
   * Note the client's own bounds: twirp calls and non-Azure downloads wait for @actions/http-client's 3-minute
   * request timeout; Azure uploads have no client timeout; Azure downloads are bounded by
   * SEGMENT_DOWNLOAD_TIMEOUT_MINS (default 10 min).
   */
  hang?: { route: Route; times?: number };
  /**
   * Blob GETs: send the headers with the full Content-Length, then only half the bytes, then end the connection.
   * true = every GET while set; a number = that many GETs.
   */
  truncateDownload?: boolean | number;
  /**
   * CreateCacheEntry answers what the real service answers when the key+version exists already (or is being
   * written by another job): HTTP 409, twirp `already_exists`,
   * "cache entry with the same key, version, and scope already exists". Stays until cleared.
   */
  reserveConflict?: boolean;
  /**
   * CreateCacheEntry answers 200 `{ok:false, message}` — what the real service does for a read-only token
   * ("cache write denied: token has no writable scopes"). Stays until cleared.
   */
  createNotOk?: string;
}

export interface RequestRecord {
  method: string;
  /** Path and query of the request (absolute-URI proxy requests are reduced to path+query). */
  path: string;
  /** 'tunnel' = a CONNECT request (the tunnelled requests are recorded separately). */
  route: Route | 'tunnel' | 'unknown';
  /** Final status; 0 while unanswered (hung requests keep 0). */
  status: number;
  host: string;
  op?: BlobOp;
  /** x-ms-range or Range header of a blob GET. */
  range?: string;
  /** Parsed JSON body of a twirp request (exactly what the client put on the wire). */
  body?: unknown;
  fault?: 'status' | 'hang' | 'truncate' | 'reserveConflict' | 'createNotOk';
}

export interface TestCacheServer {
  url: string;
  port: number;
  /** Mode the server was started in. */
  blobUrls: 'azure-proxy' | 'loopback';
  /** Bearer token the client must send (also in env().ACTIONS_RUNTIME_TOKEN). */
  token: string;
  /** RUNNER_TEMP handed to the client (removed by close()). */
  runnerTemp: string;
  /**
   * The environment @actions/cache needs to use this server. Empty strings mean "must be unset/empty" (every
   * reader of those variables treats '' like unset); apply with applyEnv().
   */
  env(): Record<string, string>;
  entries(): CacheEntry[];
  requests: RequestRecord[];
  /** Mutable; tests set it. */
  faults: FaultPlan;
  /** GITHUB_API_URL for the REST API part (the same server). */
  apiUrl: string;
  /** The repository the REST API serves (owner/name). */
  repository: string;
  /** The GITHUB_TOKEN the REST API accepts. */
  restToken: string;
  /** Mutable: 'write' (actions: write) or 'read' (DELETE answers 403). */
  permission: 'write' | 'read';
  /** Mutable: the ref new entries are scoped to. */
  ref: string;
  /** Adds a finalized entry directly (to seed other refs or older entries); returns its id. */
  addEntry(entry: { key: string; ref?: string; version?: string; createdAt?: number; data?: Buffer }): number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** FinalizeCacheEntryUpload answers ok:false when the declared size exceeds this. Default: 10 GiB. */
  maxEntryBytes?: number;
  /** See the header comment. Default 'azure-proxy'. */
  blobUrls?: 'azure-proxy' | 'loopback';
  /** The repository the REST API serves. Default 'harness/repo' (the runner harness's default). */
  repository?: string;
}

interface BlobState {
  name: string;
  uploadSig: string;
  downloadSig: string;
  committed?: Buffer;
  blocks: Map<string, Buffer>;
  committedBlocks: Map<string, Buffer>;
  etag: string;
  lastModified: Date;
  createdOn: Date;
}

interface EntryState {
  id: number;
  ref: string;
  key: string;
  version: string;
  size: number;
  finalized: boolean;
  createdAt: number;
  blob: BlobState;
}

const TWIRP_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  408: 'canceled',
  409: 'already_exists',
  412: 'failed_precondition',
  429: 'resource_exhausted',
  500: 'internal',
  501: 'unimplemented',
  503: 'unavailable',
  504: 'deadline_exceeded',
};

const AZURE_CODES: Record<number, string> = {
  400: 'InvalidInput',
  403: 'AuthenticationFailed',
  404: 'BlobNotFound',
  409: 'BlobAlreadyExists',
  412: 'ConditionNotMet',
  413: 'RequestBodyTooLarge',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'ServerBusy',
};

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A syntactically valid, unsigned (alg "none") JWT shaped like an Actions runtime token. */
export function makeRuntimeToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const run = randomUUID();
  const job = randomUUID();
  const claims = {
    iss: 'https://token.actions.githubusercontent.com',
    aud: 'vso:00000000-0000-0000-0000-000000000000',
    nameid: 'dddddddd-dddd-dddd-dddd-dddddddddddd',
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${run}:${job} Actions.UploadArtifacts:00000000-0000-0000-0000-000000000000:1`,
    ac: JSON.stringify([{ Scope: 'refs/heads/main', Permission: 3 }]),
    iat: now,
    nbf: now - 60,
    exp: now + 6 * 3600,
  };
  return `${b64url({ typ: 'JWT', alg: 'none' })}.${b64url(claims)}.`;
}

/** Sets (or, for undefined, deletes) process.env entries; returns a function that puts the old values back. */
export function applyEnv(vars: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(vars)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function str(body: Record<string, unknown>, snake: string, camel: string): string | undefined {
  const v = body[snake] ?? body[camel];
  return typeof v === 'string' ? v : undefined;
}

/** Parses `bytes=a-b` / `bytes=a-`; undefined = no range, null = unsatisfiable. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size || end < start) return null;
  return { start, end };
}

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

  function sendTwirp(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function twirpError(res: ServerResponse, status: number, msg: string): void {
    sendTwirp(res, status, { code: TWIRP_CODES[status] ?? 'unknown', msg });
  }

  function azureHeaders(req: IncomingMessage): Record<string, string> {
    return {
      'x-ms-request-id': randomUUID(),
      'x-ms-version': String(req.headers['x-ms-version'] ?? '2026-02-06'),
      Date: new Date().toUTCString(),
      Server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0',
    };
  }

  function azureError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
    const headers: Record<string, string> = { ...azureHeaders(req), 'x-ms-error-code': code };
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${headers['x-ms-request-id'] ?? ''}\nTime:${new Date().toISOString()}</Message></Error>`;
    res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  function findMatch(key: string, restoreKeys: string[], version: string): EntryState | undefined {
    const visible = entries.filter((e) => e.finalized && e.version === version);
    const newest = (list: EntryState[]) =>
      list.reduce<EntryState | undefined>((a, b) => (!a || b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a), undefined);
    // docs.github.com "Cache key matching": exact key, then prefix matches of key, then each restore key in
    // order (exact, else the most recently created prefix match).
    for (const candidate of [key, ...restoreKeys]) {
      const exact = visible.find((e) => e.key === candidate);
      if (exact) return exact;
      const prefixed = newest(visible.filter((e) => e.key.startsWith(candidate)));
      if (prefixed) return prefixed;
    }
    return undefined;
  }

  async function handleTwirp(req: IncomingMessage, res: ServerResponse, route: TwirpRoute, rec: RequestRecord): Promise<void> {
    const raw = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8') || '{}');
      rec.body = parsed;
    } catch {
      parsed = undefined;
    }
    if (req.method !== 'POST') return twirpError(res, 404, `unsupported method ${req.method} (only POST is allowed)`);
    if (req.headers.authorization !== `Bearer ${token}`) return twirpError(res, 401, 'invalid or missing bearer token');
    const status = takeFault('status', route);
    if (status) {
      rec.fault = 'status';
      return twirpError(res, status.code, status.message ?? `injected fault on ${route}`);
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return twirpError(res, 400, 'this server only speaks the twirp JSON protocol');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return sendTwirp(res, 400, { code: 'malformed', msg: 'the request body is not a JSON object' });
    }
    const body = parsed as Record<string, unknown>;
    const key = str(body, 'key', 'key');
    const version = str(body, 'version', 'version');
    if (!key) return twirpError(res, 400, 'key is required');
    if (!version) return twirpError(res, 400, 'version is required');

    if (route === 'GetCacheEntryDownloadURL') {
      const rk = body['restore_keys'] ?? body['restoreKeys'] ?? [];
      const restoreKeys = Array.isArray(rk) ? rk.filter((k): k is string => typeof k === 'string') : [];
      const hit = findMatch(key, restoreKeys, version);
      if (!hit) return sendTwirp(res, 200, { ok: false, signed_download_url: '', matched_key: '' });
      return sendTwirp(res, 200, {
        ok: true,
        signed_download_url: blobUrl(hit.blob, hit.blob.downloadSig, 'r'),
        matched_key: hit.key,
      });
    }

    if (route === 'CreateCacheEntry') {
      if (api.faults.createNotOk !== undefined) {
        rec.fault = 'createNotOk';
        return sendTwirp(res, 200, { ok: false, signed_upload_url: '', message: api.faults.createNotOk });
      }
      const conflictMsg = 'cache entry with the same key, version, and scope already exists';
      if (api.faults.reserveConflict) {
        rec.fault = 'reserveConflict';
        return twirpError(res, 409, conflictMsg);
      }
      // A pending (not yet finalized) reservation blocks the key as well: "another job may be creating this cache".
      if (entries.some((e) => e.key === key && e.version === version)) return twirpError(res, 409, conflictMsg);
      const id = nextId++;
      const blob = newBlob(id, key, version);
      entries.push({ id, ref: api.ref, key, version, size: 0, finalized: false, createdAt: Date.now(), blob });
      return sendTwirp(res, 200, { ok: true, signed_upload_url: blobUrl(blob, blob.uploadSig, 'cw'), message: '' });
    }

    // FinalizeCacheEntryUpload
    const entry = entries.find((e) => e.key === key && e.version === version && !e.finalized);
    if (!entry) {
      const done = entries.some((e) => e.key === key && e.version === version);
      return done
        ? sendTwirp(res, 200, { ok: false, entry_id: '0', message: `cache entry ${key} is already finalized` })
        : twirpError(res, 404, `no reserved cache entry for key ${key} and version ${version}`);
    }
    const rawSize = body['size_bytes'] ?? body['sizeBytes'];
    const size = typeof rawSize === 'string' || typeof rawSize === 'number' ? Number(rawSize) : NaN;
    if (!Number.isSafeInteger(size) || size < 0) return twirpError(res, 400, 'size_bytes must be a non-negative integer');
    if (size > maxEntryBytes) {
      return sendTwirp(res, 200, {
        ok: false,
        entry_id: '0',
        message: `cache entry size ${size} B exceeds the maximum of ${maxEntryBytes} B`,
      });
    }
    if (!entry.blob.committed) {
      return sendTwirp(res, 200, { ok: false, entry_id: '0', message: `no upload found for cache entry ${key}` });
    }
    if (entry.blob.committed.length !== size) {
      return sendTwirp(res, 200, {
        ok: false,
        entry_id: '0',
        message: `size mismatch: ${size} B declared, ${entry.blob.committed.length} B uploaded`,
      });
    }
    entry.size = size;
    entry.finalized = true;
    return sendTwirp(res, 200, { ok: true, entry_id: String(entry.id), message: '' });
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, url: URL, blob: BlobState | undefined, rec: RequestRecord): Promise<void> {
    const raw = await readBody(req);
    const route = rec.route as 'upload' | 'download' | 'properties';
    const status = takeFault('status', route);
    if (status) {
      rec.fault = 'status';
      return azureError(req, res, status.code, AZURE_CODES[status.code] ?? 'InjectedFault', status.message ?? `injected fault on ${route}`);
    }
    if (!blob) return azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.');
    const sig = url.searchParams.get('sig');
    const entry = entries.find((e) => e.blob === blob);

    if (route === 'upload') {
      if (sig !== blob.uploadSig) return azureError(req, res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request (upload signature).');
      if (entry?.finalized) return azureError(req, res, 409, 'BlobImmutable', 'The cache entry is finalized; its blob cannot change.');
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== raw.length) {
        return azureError(req, res, 400, 'InvalidInput', `Content-Length ${declared} does not match the body (${raw.length} B).`);
      }
      const comp = url.searchParams.get('comp');
      const ok = (extra: Record<string, string> = {}) => {
        res.writeHead(201, { ...azureHeaders(req), 'x-ms-request-server-encrypted': 'true', 'Content-Length': '0', ...extra });
        res.end();
      };
      if (comp === 'block') {
        rec.op = 'PutBlock';
        const id = url.searchParams.get('blockid');
        if (!id || Buffer.from(id, 'base64').length > 64) return azureError(req, res, 400, 'InvalidQueryParameterValue', 'blockid must be base64 of at most 64 bytes.');
        blob.blocks.set(id, raw);
        return ok();
      }
      const commit = (data: Buffer) => {
        blob.committed = data;
        blob.etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`;
        blob.lastModified = new Date();
        ok({ ETag: blob.etag, 'Last-Modified': blob.lastModified.toUTCString(), 'Content-MD5': createHash('md5').update(data).digest('base64') });
      };
      if (comp === 'blocklist') {
        rec.op = 'PutBlockList';
        const xml = raw.toString('utf8');
        const parts: Buffer[] = [];
        for (const m of xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)) {
          const kind = m[1];
          const id = xmlUnescape(m[2] ?? '');
          const pending = blob.blocks.get(id);
          const committed = blob.committedBlocks.get(id);
          const part = kind === 'Committed' ? committed : kind === 'Uncommitted' ? pending : (pending ?? committed);
          if (!part) return azureError(req, res, 400, 'InvalidBlockList', `The specified block list is invalid (unknown block ${id}).`);
          parts.push(part);
        }
        if (!/<BlockList[\s>]/.test(xml)) return azureError(req, res, 400, 'InvalidXmlDocument', 'Expected a <BlockList> body.');
        const newCommitted = new Map<string, Buffer>();
        for (const m of xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)) {
          const id = xmlUnescape(m[2] ?? '');
          newCommitted.set(id, (blob.blocks.get(id) ?? blob.committedBlocks.get(id))!);
        }
        blob.committedBlocks = newCommitted;
        blob.blocks.clear();
        return commit(Buffer.concat(parts));
      }
      if (comp) return azureError(req, res, 400, 'UnsupportedQueryParameter', `comp=${comp} is not emulated.`);
      rec.op = 'PutBlob';
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        return azureError(req, res, 400, 'MissingRequiredHeader', 'x-ms-blob-type: BlockBlob is required for Put Blob.');
      }
      blob.blocks.clear();
      blob.committedBlocks.clear();
      return commit(raw);
    }

    // GET / HEAD
    rec.op = route === 'download' ? 'GetBlob' : 'GetBlobProperties';
    if (sig !== blob.downloadSig) return azureError(req, res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request (download signature).');
    if (!blob.committed || !entry?.finalized) return azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.');
    const data = blob.committed;
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== blob.etag) return azureError(req, res, 412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
    const common = {
      ...azureHeaders(req),
      'Content-Type': 'application/octet-stream',
      'Last-Modified': blob.lastModified.toUTCString(),
      ETag: blob.etag,
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': blob.createdOn.toUTCString(),
      'x-ms-lease-status': 'unlocked',
      'x-ms-lease-state': 'available',
      'x-ms-server-encrypted': 'true',
    };
    if (route === 'properties') {
      res.writeHead(200, { ...common, 'Content-Length': String(data.length) });
      res.end();
      return;
    }
    const rangeHeader = (req.headers['x-ms-range'] ?? req.headers['range']) as string | undefined;
    if (rangeHeader) rec.range = rangeHeader;
    const range = parseRange(rangeHeader, data.length);
    if (range === null) return azureError(req, res, 416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
    const slice = range ? data.subarray(range.start, range.end + 1) : data;
    const headers: Record<string, string> = { ...common, 'Content-Length': String(slice.length) };
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${data.length}`;
    if (takeTruncate()) {
      rec.fault = 'truncate';
      rec.status = range ? 206 : 200;
      res.writeHead(rec.status, headers);
      res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => res.socket?.end());
      return;
    }
    res.writeHead(range ? 206 : 200, headers);
    res.end(slice);
  }

  function sendJson(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  const DOCS = 'https://docs.github.com/rest/actions/cache';
  const restEntry = (e: EntryState) => ({
    id: e.id,
    ref: e.ref,
    key: e.key,
    version: e.version,
    last_accessed_at: new Date(e.createdAt).toISOString(),
    created_at: new Date(e.createdAt).toISOString(),
    size_in_bytes: e.size,
  });

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL, route: RestRoute, repo: string, id: number | undefined, rec: RequestRecord): Promise<void> {
    await readBody(req);
    const auth = String(req.headers.authorization ?? '');
    if (auth !== `Bearer ${api.restToken}` && auth !== `token ${api.restToken}`) return sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const status = takeFault('status', route);
    if (status) {
      rec.fault = 'status';
      return sendJson(res, status.code, { message: status.message ?? `injected fault on ${route}`, documentation_url: DOCS });
    }
    if (repo !== api.repository) return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS });
    if (route === 'DeleteCache') {
      if (req.method !== 'DELETE') return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS });
      if (api.permission !== 'write') return sendJson(res, 403, { message: 'Resource not accessible by integration', documentation_url: `${DOCS}#delete-a-github-actions-cache-for-a-repository-using-a-cache-id`, status: '403' });
      const index = entries.findIndex((e) => e.id === id && e.finalized);
      if (index < 0) return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS });
      const [gone] = entries.splice(index, 1);
      blobs.delete(gone!.blob.name);
      return sendJson(res, 204);
    }
    if (req.method !== 'GET') return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS });
    const q = url.searchParams;
    const sortBy = q.get('sort') ?? 'last_accessed_at';
    const desc = (q.get('direction') ?? 'desc') === 'desc';
    const perPage = Math.min(100, Math.max(1, Number(q.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
    const listed = entries
      .filter((e) => e.finalized && (!q.get('key') || e.key.startsWith(q.get('key')!)) && (!q.get('ref') || e.ref === q.get('ref')))
      .sort((a, b) => {
        const by = sortBy === 'size_in_bytes' ? a.size - b.size : a.createdAt - b.createdAt || a.id - b.id;
        return desc ? -by : by;
      });
    return sendJson(res, 200, { total_count: listed.length, actions_caches: listed.slice((page - 1) * perPage, page * perPage).map(restEntry) });
  }

  function classifyRest(url: URL): { route: RestRoute; repo: string; id?: number } | undefined {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/actions\/caches(?:\/(\d+))?$/.exec(url.pathname);
    if (!m) return undefined;
    return { route: m[3] ? 'DeleteCache' : 'ListCaches', repo: `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`, ...(m[3] ? { id: Number(m[3]) } : {}) };
  }

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
