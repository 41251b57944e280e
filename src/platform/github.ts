// GitHub Actions: workflow commands (written directly, github-commands.ts) and the cache service (@actions/cache,
// loaded only when a job uses the cache).
import { EOL } from 'node:os';
import * as core from './github-commands.js';
import type { InputName } from '../inputs.js';
import { githubCacheInventory } from './github-caches.js';
import type { CacheService, Platform } from './platform.js';

/** What @actions/cache's isFeatureAvailable checks, without loading it: a cache service URL from the runner. */
export const cacheServiceAvailable = (env: Readonly<Record<string, string | undefined>>): boolean => Boolean(env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL);

/**
 * GitHub's cache service through @actions/cache. The library (and the Azure SDK under it) is loaded only when a job
 * uses the cache: it is most of the bundle, and every phase of every job would otherwise pay for parsing it.
 */
export const githubCacheService: CacheService = {
  name: "GitHub's cache service",
  async restore(paths, primaryKey, restoreKeys) {
    const cache = await import('@actions/cache');
    return cache.restoreCache(paths, primaryKey, restoreKeys);
  },
  async save(paths, key) {
    const cache = await import('@actions/cache');
    try {
      const id = await cache.saveCache(paths, key);
      return id === -1 ? { outcome: 'failed', detail: 'see the message above (another job may be saving this key)' } : { outcome: 'saved' };
    } catch (e) {
      if (e instanceof cache.ReserveCacheError) return { outcome: 'exists', detail: e.message };
      return { outcome: 'failed', detail: (e as Error).message };
    }
  },
};

export function githubPlatform(env: Record<string, string | undefined> = process.env): Platform {
  return {
    name: 'github',
    log: {
      info: (m) => void process.stdout.write(`${m}${EOL}`),
      warning: (m) => core.issueCommand('warning', {}, m),
      error: (m) => core.issueCommand('error', {}, m),
      debug: (m) => core.issueCommand('debug', {}, m),
      notice: (m) => core.issueCommand('notice', {}, m),
    },
    state: {
      get: (key) => env[`STATE_${key}`] ?? '',
      set: (key, value) => core.saveState(env, key, value),
    },
    job: {
      runId: env.GITHUB_RUN_ID ?? 'local',
      runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
      job: env.GITHUB_JOB ?? 'job',
      tempDir: env.RUNNER_TEMP ?? '/tmp',
      workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    },
    env,
    // Not core.getInput: it trims, and multi-line inputs (certificates, argument lists) keep their layout here.
    input: (name: InputName) => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '',
    setOutput: (name, value) => core.setOutput(env, name, value),
    exportVariable: (name, value) => core.exportVariable(env, name, value),
    addPath: (dir) => core.addPath(env, dir),
    mask: (secret) => core.issueCommand('add-mask', {}, secret),
    group: (title, fn) => core.group(title, fn),
    appendSummary: async (markdown) => {
      if (!env.GITHUB_STEP_SUMMARY) return;
      await core.appendSummary(env, markdown);
    },
    cacheService: () => (cacheServiceAvailable(env) ? githubCacheService : undefined),
    // The token input (default: the job's GITHUB_TOKEN) is read here only, at post, and never kept in state.
    cacheInventory: () => (cacheServiceAvailable(env) ? githubCacheInventory(env, env.INPUT_TOKEN ?? '') : undefined),
    fail: (message) => {
      process.exitCode = 1;
      core.issueCommand('error', {}, message);
    },
  };
}
