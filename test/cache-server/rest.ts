// The REST API's cache management (GET /repos/{owner}/{repo}/actions/caches, DELETE …/caches/{id}), at `apiUrl`.
// Moved from server.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RestRoute, type RequestRecord, type EntryState, readBody, type CacheContext } from './common.js';

export function restApi(ctx: CacheContext) {
  const { api, entries, blobs, takeFault } = ctx;

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

  return { handleRest, classifyRest };
}
