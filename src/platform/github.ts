// GitHub Actions: the only module that imports @actions/*.
import * as core from '@actions/core';
import type { InputName } from '../inputs.js';
import type { Platform } from './platform.js';
import { GitHubCacheBackend } from './github-cache.js';

export function githubPlatform(env: Record<string, string | undefined> = process.env): Platform {
  return {
    name: 'github',
    log: {
      info: (m) => core.info(m),
      warning: (m) => core.warning(m),
      error: (m) => core.error(m),
      debug: (m) => core.debug(m),
    },
    state: {
      get: (key) => core.getState(key),
      set: (key, value) => core.saveState(key, value),
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
    setOutput: (name, value) => core.setOutput(name, value),
    exportVariable: (name, value) => core.exportVariable(name, value),
    mask: (secret) => core.setSecret(secret),
    group: (title, fn) => core.group(title, fn),
    appendSummary: async (markdown) => {
      if (!env.GITHUB_STEP_SUMMARY) return;
      await core.summary.addRaw(markdown).write();
    },
    cacheService: () => (GitHubCacheBackend.available(env) ? new GitHubCacheBackend(env.RUNNER_TEMP ?? '/tmp') : undefined),
    fail: (message) => core.setFailed(message),
  };
}
