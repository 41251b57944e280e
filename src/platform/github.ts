// GitHub Actions: workflow commands (github-commands.ts) and the cache service (github-cache.ts, which loads
// @actions/cache only when a job uses the cache).
import * as core from './github-commands.js';
import { EOL } from 'node:os';
import type { InputName } from '../inputs.js';
import type { Platform } from './platform.js';
import { GitHubCacheBackend } from './github-cache.js';

export function githubPlatform(env: Record<string, string | undefined> = process.env): Platform {
  return {
    name: 'github',
    log: {
      info: (m) => void process.stdout.write(`${m}${EOL}`),
      warning: (m) => core.issueCommand('warning', {}, m),
      error: (m) => core.issueCommand('error', {}, m),
      debug: (m) => core.issueCommand('debug', {}, m),
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
    mask: (secret) => core.issueCommand('add-mask', {}, secret),
    group: (title, fn) => core.group(title, fn),
    appendSummary: async (markdown) => {
      if (!env.GITHUB_STEP_SUMMARY) return;
      await core.appendSummary(env, markdown);
    },
    cacheService: () => (GitHubCacheBackend.available(env) ? new GitHubCacheBackend(env.RUNNER_TEMP ?? '/tmp') : undefined),
    fail: (message) => {
      process.exitCode = 1;
      core.issueCommand('error', {}, message);
    },
  };
}
