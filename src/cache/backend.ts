// Where cache entries live. One interface for GitHub's cache service (in the platform layer) and a plain directory
// (GitLab's `cache:`, self-hosted runners). Entries are immutable: a key is written once.
import type { TarOutput, TarSource } from './tar.js';

export type { TarOutput, TarSource };

export interface RestoredEntry {
  key: string;
  bytes: number;
}

export type SaveOutcome = 'saved' | 'exists' | 'too-large' | 'failed';

export interface CacheBackend {
  readonly name: string;
  /** The entry for the exact key, else the newest whose key starts with a restore key (tried in order). */
  restore(primaryKey: string, restoreKeys: string[], consume: (tar: TarSource) => Promise<void>): Promise<RestoredEntry | undefined>;
  /**
   * Stores the tar stream `produce` gives under `key`, unless it exceeds maxBytes. After a save, entries whose keys
   * start with one of `supersedes` are older versions of the same cache: a backend without eviction of its own
   * (a directory) removes them.
   */
  save(key: string, produce: () => Promise<TarOutput>, maxBytes: number | undefined, supersedes?: string[]): Promise<{ outcome: SaveOutcome; bytes: number; detail?: string }>;
  /** Removes what a save or restore given up at its deadline left (its own cleanup will never run). */
  abandon?(): Promise<void>;
}
