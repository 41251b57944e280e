// GitLab CI and plain shells: the CLI's platform. State lives in a JSON file in a state directory, so `stop` in
// GitLab's after_script finds what `start` made in before_script (another shell). Exported variables go to a dotenv
// file (GitLab's artifacts:reports:dotenv, or `eval "$(setup-dind env)"`); log groups are GitLab's collapsible
// sections when GitLab runs us.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRef, Platform } from './platform.js';
import { ensureStateDir } from './state-dir.js';

export interface ShellPlatformOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Input values from flags and SETUP_DIND_* variables (missing ones take their defaults). */
  inputs: Partial<Record<string, string>>;
  stateDir: string;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

export interface ShellPlatform extends Platform {
  readonly stateDir: string;
  readonly envFile: string;
  exitCode: number;
}

/** The saved variables and outputs of a state directory: what `setup-dind env` prints. */
export function readSaved(stateDir: string): { env: Record<string, string>; outputs: Record<string, string>; paths: string[] } {
  return savedOf(readStateFile(stateDir));
}

/** The variables, outputs and PATH directories kept among a state file's values. */
const savedOf = (values: Record<string, string>): { env: Record<string, string>; outputs: Record<string, string>; paths: string[] } =>
  ({ env: JSON.parse(values['exported-env'] ?? '{}'), outputs: JSON.parse(values.outputs ?? '{}'), paths: JSON.parse(values.paths ?? '[]') });

function readStateFile(stateDir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as Record<string, string>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`the state file ${join(stateDir, 'state.json')} cannot be read (${(e as Error).message})`);
  }
}

/** dotenv lines; values are single-quoted for shells (a quote inside becomes '\''). */
export const dotenv = (vars: Record<string, string>) => Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n');
const quoted = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
/** export lines for a shell; `paths` go first on the shell's own PATH (the last added first, as GitHub's GITHUB_PATH). */
export const shellExports = (vars: Record<string, string>, paths: string[] = []) =>
  [...Object.entries(vars).map(([k, v]) => `export ${k}=${quoted(v)}`), ...paths.map((p) => `export PATH=${quoted(p)}:"$PATH"`)].join('\n');

/** The state file's values, and how to save them (written whole, then renamed into place). */
function stateValues(stateDir: string) {
  const stateFile = join(stateDir, 'state.json');
  const values = readStateFile(stateDir);
  const save = () => {
    const partial = `${stateFile}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(values, null, 2), { mode: 0o600 });
    renameSync(partial, stateFile);
  };
  const keep = (key: string, data: unknown) => {
    values[key] = JSON.stringify(data);
    save();
  };
  return { values, save, keep };
}

export function shellPlatform(options: ShellPlatformOptions): ShellPlatform {
  const { env, stateDir } = options;
  const out = options.out ?? ((t: string) => process.stdout.write(`${t}\n`));
  const err = options.err ?? ((t: string) => process.stderr.write(`${t}\n`));
  const gitlab = env.GITLAB_CI === 'true';
  ensureStateDir(stateDir);
  const { values, save, keep } = stateValues(stateDir);
  const { env: exported, outputs, paths } = savedOf(values);
  let section = 0;

  const platform: ShellPlatform = {
    name: gitlab ? 'gitlab' : 'shell',
    stateDir,
    envFile: join(stateDir, 'setup-dind.env'),
    exitCode: 0,
    log: {
      info: (m) => out(m),
      warning: (m) => err(`WARNING: ${m}`),
      error: (m) => err(`ERROR: ${m}`),
      debug: (m) => (env.SETUP_DIND_DEBUG ? err(`debug: ${m}`) : undefined),
    },
    state: {
      get: (key) => values[key] ?? '',
      set: (key, value) => {
        values[key] = value;
        save();
      },
    },
    job: {
      runId: env.CI_PIPELINE_ID || 'local',
      runAttempt: '1',
      job: env.CI_JOB_ID || env.CI_JOB_NAME || 'shell',
      ...gitlabJobName(env.CI_JOB_NAME ?? ''),
      ref: gitlabRef(env),
      tempDir: stateDir,
      workspace: env.CI_PROJECT_DIR || process.cwd(),
    },
    env,
    input: (name) => options.inputs[name] ?? '',
    setOutput: (name, value) => {
      outputs[name] = value;
      keep('outputs', outputs);
    },
    exportVariable: (name, value) => {
      exported[name] = value;
      keep('exported-env', exported);
      writeFileSync(platform.envFile, `${dotenv(exported)}\n`, { mode: 0o600 });
    },
    // Not in the dotenv file (a value there cannot extend PATH): `setup-dind env` prints it for the shell.
    addPath: (dir) => {
      paths.push(dir);
      keep('paths', paths);
    },
    // GitLab masks only variables defined in its settings; nothing can be masked from a running job.
    mask: () => undefined,
    group: async (title, fn) => {
      const id = `setup_dind_${process.pid}_${++section}`;
      if (gitlab) out(`\u001b[0Ksection_start:${Math.floor(Date.now() / 1000)}:${id}[collapsed=true]\r\u001b[0K${title}`);
      else out(`--- ${title}`);
      try {
        return await fn();
      } finally {
        if (gitlab) out(`\u001b[0Ksection_end:${Math.floor(Date.now() / 1000)}:${id}\r\u001b[0K`);
      }
    },
    appendSummary: async (markdown) => {
      writeFileSync(join(stateDir, 'summary.md'), markdown, { flag: 'a' });
    },
    cacheService: () => undefined,
    fail: (message) => {
      platform.exitCode = 1;
      err(`ERROR: ${message}`);
    },
  };
  return platform;
}

/**
 * GitLab names the jobs of `parallel: matrix:` "test: [a, b]" and those of `parallel: 3` "test 1/3": the name without
 * that part is the job, the part tells its legs apart.
 */
export function gitlabJobName(jobName: string): { name: string; matrix: string } {
  const m = /^(.*?)(?::\s*(\[.*\])|\s+(\d+\/\d+))$/.exec(jobName.trim());
  if (m && m[1]) return { name: m[1], matrix: m[2] ?? m[3] ?? '' };
  return { name: jobName.trim() || 'shell', matrix: '' };
}

/** The pipeline's ref; a merge request's target branch and the default branch are the refs it may fall back to. */
export function gitlabRef(env: Readonly<Record<string, string | undefined>>): JobRef {
  const name = env.CI_COMMIT_REF_NAME ?? '';
  const fallbacks = [env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME ?? '', env.CI_DEFAULT_BRANCH ?? ''].filter((r, i, all) => r && r !== name && all.indexOf(r) === i);
  return { name, protected: env.CI_COMMIT_REF_PROTECTED === 'true', fallbacks };
}
