// post, after a new entry was saved to the CI system's cache service: the older entries of its prefix go
// (cache/lifecycle.ts), reported in the log and the job summary. Directory backends keep only their newest entry
// themselves; a platform without a cache API (GitLab, plain shells) has nothing to do here.
import type { Platform } from '../platform/platform.js';
import type { CacheRecord } from './cache.js';
import { pruneOlderEntries } from './lifecycle.js';

export async function pruneAfterSave(record: CacheRecord, platform: Platform): Promise<void> {
  const keep = record.settings.keep;
  if (record.dir || keep === undefined) return;
  const inventory = platform.cacheInventory?.();
  if (!inventory) {
    platform.log.info('setup-dind cache: older entries are not removed here (no cache API or no token).');
    return;
  }
  try {
    const report = await pruneOlderEntries(inventory, record, keep, platform.log);
    platform.log.info(`setup-dind cache: ${report.message}.`);
    if (report.summary) await platform.appendSummary(report.summary);
  } catch (e) {
    platform.log.warning(`setup-dind cache: removing older entries failed (${(e as Error).message}); the job is not affected.`);
  }
}
