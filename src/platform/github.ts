// GitHub Actions: workflow commands (written directly, github-commands.ts) and the cache service (@actions/cache,
// loaded only when a job uses the cache).
import { readFileSync } from 'node:fs';
import { EOL } from 'node:os';
import * as core from './github-commands.js';
import { githubCacheInventory } from './github-caches.js';
import type { CacheService, JobRef, Platform } from './platform.js';

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

/**
 * The job's ref: GITHUB_REF_NAME and GITHUB_REF_PROTECTED; a pull request's base branch and the repository's default
 * branch (from the event payload) are the refs it may fall back to, as GitHub's cache service lets it.
 */
export function githubRef(env: Readonly<Record<string, string | undefined>>): JobRef {
  let defaultBranch = '';
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH ?? '', 'utf8')) as { repository?: { default_branch?: unknown } };
    if (typeof event.repository?.default_branch === 'string') defaultBranch = event.repository.default_branch;
  } catch {
    // no payload (outside Actions): no default branch to fall back to
  }
  const name = env.GITHUB_REF_NAME ?? '';
  const fallbacks = [env.GITHUB_BASE_REF ?? '', defaultBranch].filter((r, i, all) => r && r !== name && all.indexOf(r) === i);
  return { name, protected: env.GITHUB_REF_PROTECTED === 'true', fallbacks };
}

export function githubPlatform(env: Record<string, string | undefined> = process.env): Platform {
  let ref: JobRef | undefined;
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
      name: env.GITHUB_JOB ?? 'job',
      // The environment has no matrix: the input "matrix" has the default ${{ toJSON(matrix) }}, which the runner
      // evaluates with the job's matrix context (action.yml input defaults may use github, strategy, matrix, job, runner).
      matrix: env.INPUT_MATRIX ?? '',
      get ref() {
        return (ref ??= githubRef(env));
      },
      tempDir: env.RUNNER_TEMP ?? '/tmp',
      workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    },
    env,
    // Not core.getInput: it trims, and multi-line inputs (certificates, argument lists) keep their layout here.
    input: (name: string) => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '',
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
