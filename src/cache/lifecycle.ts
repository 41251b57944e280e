// The lifecycle of entries in a CI system's cache service (GitHub's): every save makes a new entry (the default key
// holds the run), and a repository's quota is filled oldest-first, so daemon snapshots would soon evict its other
// caches. After a save, the older entries of the same key prefix on the same ref are deleted through the service's
// management API, keeping the newest `cache-keep`. Nothing here fails a job: a token without the permission is a
// notice that says how to grant it, anything else a warning.
import { type CacheInventory, type CacheListing, CacheApiError, type Logger } from '../platform/platform.js';

/** The prefix whose older entries a save supersedes: the longest restore key that the saved key starts with. */
export function prunePrefix(key: string, restoreKeys: string[]): string | undefined {
  return restoreKeys.filter((k) => k && key.startsWith(k) && k !== key).sort((a, b) => b.length - a.length)[0];
}

/** Which listed entries go: all but the newest `keep` (by creation) and the entry just saved. */
export function entriesToRemove(listed: CacheListing[], savedKey: string, keep: number): CacheListing[] {
  const newestFirst = [...listed].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
  return newestFirst.slice(keep).filter((e) => e.key !== savedKey);
}

export interface PruneReport {
  /** One line for the log. */
  message: string;
  /** Markdown for the job summary; empty when there is nothing to say. */
  summary: string;
  removed: CacheListing[];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const PERMISSION_REMEDY =
  'Grant it in the workflow with `permissions: actions: write` (on the job or the workflow), or set cache-keep: all to keep every entry.';

/** After a save of `savedKey`: deletes the older entries of its prefix on this ref, keeping the newest `keep`. */
export async function pruneOlderEntries(
  inventory: CacheInventory,
  saved: { key: string; restoreKeys: string[] },
  keep: number,
  log: Logger,
): Promise<PruneReport> {
  const prefix = prunePrefix(saved.key, saved.restoreKeys);
  if (!prefix) {
    return { message: `no older entries removed: ${saved.key} has no restore key prefix to group entries by (set cache-restore-keys)`, summary: '', removed: [] };
  }
  const notice = (m: string) => (log.notice ? log.notice(m) : log.info(m));
  const removed: CacheListing[] = [];
  try {
    const listed = await inventory.list(prefix);
    for (const entry of entriesToRemove(listed, saved.key, keep)) {
      await inventory.remove(entry.id);
      removed.push(entry);
    }
  } catch (e) {
    const denied = e instanceof CacheApiError && (e.status === 403 || e.status === 401);
    const done = removed.length ? ` (${removed.length} removed before that)` : '';
    if (denied) {
      notice(`setup-dind cache: older entries of ${prefix}* on ${inventory.ref} were not removed: the token may not manage the Actions cache (${(e as Error).message})${done}. ${PERMISSION_REMEDY}`);
    } else {
      log.warning(`setup-dind cache: removing older entries of ${prefix}* failed (${(e as Error).message})${done}; the job is not affected.`);
    }
    return report(prefix, inventory.ref, keep, removed, denied ? 'the token lacks actions: write' : 'an error');
  }
  return report(prefix, inventory.ref, keep, removed);
}

function report(prefix: string, ref: string, keep: number, removed: CacheListing[], stoppedBy?: string): PruneReport {
  const bytes = removed.reduce((n, e) => n + e.sizeBytes, 0);
  const what = removed.length
    ? `removed ${removed.length} older ${removed.length === 1 ? 'entry' : 'entries'} of ${prefix}* on ${ref} (${mb(bytes)}): ${removed.map((e) => e.key).join(', ')}`
    : `no older entries of ${prefix}* on ${ref} to remove (keeping the newest ${keep})`;
  const message = stoppedBy ? `${removed.length ? what : 'no older entries removed'}; stopped by ${stoppedBy}` : what;
  const rows = removed.map((e) => `| \`${e.key}\` | ${mb(e.sizeBytes)} | ${e.createdAt} |`).join('\n');
  const summary =
    `### setup-dind cache\n\n${message.replace(/\|/g, '\\|')}.\n\n` +
    (removed.length ? `| removed entry | size | created |\n|---|---|---|\n${rows}\n\n` : '') +
    (stoppedBy === 'the token lacks actions: write' ? `${PERMISSION_REMEDY}\n\n` : '');
  return { message, summary, removed };
}
