// GitHub's cache service v2, the twirp API (POST /twirp/github.actions.results.api.v1.CacheService/<method>):
// GetCacheEntryDownloadURL, CreateCacheEntry, FinalizeCacheEntryUpload, with the cache key matching of docs.github.com.
// Moved from server.ts (see its opening comment for what the client sends).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type TwirpRoute, type RequestRecord, type EntryState, TWIRP_CODES, readBody, str, type CacheContext } from './common.js';

export function twirpApi(ctx: CacheContext) {
  const { api, entries, token, maxEntryBytes, nextId, newBlob, blobUrl, takeFault } = ctx;

  function sendTwirp(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function twirpError(res: ServerResponse, status: number, msg: string): void {
    sendTwirp(res, status, { code: TWIRP_CODES[status] ?? 'unknown', msg });
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
      const id = nextId();
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

  return { handleTwirp, twirpError };
}
