// What the cache stand-in's modules share: the public constants and types of server.ts (which re-exports them),
// the state of entries and blobs, and small request helpers. Moved from server.ts.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

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

export interface BlobState {
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

export interface EntryState {
  id: number;
  ref: string;
  key: string;
  version: string;
  size: number;
  finalized: boolean;
  createdAt: number;
  blob: BlobState;
}

export const TWIRP_CODES: Record<number, string> = {
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

export const AZURE_CODES: Record<number, string> = {
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

export const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

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

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export function str(body: Record<string, unknown>, snake: string, camel: string): string | undefined {
  const v = body[snake] ?? body[camel];
  return typeof v === 'string' ? v : undefined;
}

/** Parses `bytes=a-b` / `bytes=a-`; undefined = no range, null = unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size || end < start) return null;
  return { start, end };
}

/** What the API modules share with the server that composes them: its state and its fault plan. */
export interface CacheContext {
  api: TestCacheServer;
  entries: EntryState[];
  blobs: Map<string, BlobState>;
  token: string;
  maxEntryBytes: number;
  /** the next entry id (each call takes one) */
  nextId: () => number;
  newBlob: (id: number, key: string, version: string) => BlobState;
  blobUrl: (blob: BlobState, sig: string, perms: string) => string;
  takeFault: <K extends 'status' | 'hang'>(kind: K, route: Route) => NonNullable<FaultPlan[K]> | undefined;
  takeTruncate: () => boolean;
}
