// GitHub's REST API for the Actions cache (list and delete entries), with the job's token. fetch only: no
// dependency, and nothing is loaded unless a job with a cache saved an entry.
import { CacheApiError, type CacheInventory, type CacheListing } from './platform.js';

const PAGE = 100;
/** At most this many pages are read (1000 entries of one prefix on one ref is far more than a quota holds). */
const MAX_PAGES = 10;
const TIMEOUT_MS = 30_000;

interface ApiCache {
  id: number;
  key: string;
  ref: string;
  created_at: string;
  size_in_bytes: number;
}

/** The inventory for this job, or undefined without the API's address, the repository, the ref or a token. */
export function githubCacheInventory(env: Readonly<Record<string, string | undefined>>, token: string): CacheInventory | undefined {
  const api = env.GITHUB_API_URL?.replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY;
  const ref = env.GITHUB_REF;
  const secret = token.trim();
  if (!api || !repository || !ref || !secret || /[\r\n]/.test(secret)) return undefined;
  const base = `${api}/repos/${repository.split('/').map(encodeURIComponent).join('/')}/actions/caches`;

  async function call(method: 'GET' | 'DELETE', url: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${secret}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'setup-dind' },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new CacheApiError(0, `${method} ${url} got no answer (${(e as Error).message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: the text itself
      }
      throw new CacheApiError(response.status, `${method} ${url.replace(/\?.*/, '')}: HTTP ${response.status} ${message}`);
    }
    return text ? JSON.parse(text) : undefined;
  }

  return {
    name: "GitHub's cache API",
    ref,
    async list(prefix) {
      const found: CacheListing[] = [];
      for (let page = 1; page <= MAX_PAGES; page++) {
        const query = new URLSearchParams({ key: prefix, ref, sort: 'created_at', direction: 'desc', per_page: String(PAGE), page: String(page) });
        const body = (await call('GET', `${base}?${query}`)) as { actions_caches?: ApiCache[] } | undefined;
        const caches = body?.actions_caches ?? [];
        for (const c of caches) found.push({ id: c.id, key: c.key, ref: c.ref, createdAt: c.created_at, sizeBytes: c.size_in_bytes });
        if (caches.length < PAGE) break;
      }
      return found;
    },
    async remove(id) {
      await call('DELETE', `${base}/${id}`);
    },
  };
}
