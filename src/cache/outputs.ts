// The cache's step outputs, which workflows script against: `cache-hit` is `true` or `false` only, as actions/cache
// sets it (true only when the entry of the exact key was restored), and `cache-matched-key` names what was restored
// (the exact key, or the entry a restore key prefix matched).
import type { CacheRecord } from './cache.js';

export function cacheOutputs(record: Pick<CacheRecord, 'hit' | 'key' | 'restoredKey'> | undefined): Record<'cache-hit' | 'cache-matched-key' | 'cache-key', string> {
  return {
    'cache-hit': record?.hit === 'true' ? 'true' : 'false',
    'cache-matched-key': record?.restoredKey ?? '',
    'cache-key': record?.key ?? '',
  };
}
