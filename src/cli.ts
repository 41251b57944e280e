// The setup-dind command for GitLab CI and any shell: the same phases as the action, driven by flags and
// SETUP_DIND_* variables, with state in a directory so separate shells (before_script, after_script) share it.
import { rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INPUT_DEFAULTS, type InputName } from './inputs/inputs.js';
import { runMain, runPost, runPre } from './phases.js';
import { readSaved, shellExports, dotenv, shellPlatform } from './platform/shell.js';
import { StateDirError, checkStateDir, usableRuntimeDir } from './platform/state-dir.js';

export const VERSION = '0.1.0';
const COMMANDS = ['start', 'wait', 'stop', 'env'] as const;
type Command = (typeof COMMANDS)[number];

export class UsageError extends Error {}

export interface CliInvocation {
  command: Command | 'help' | 'version';
  inputs: Partial<Record<InputName, string>>;
  stateDir: string;
  format: 'shell' | 'dotenv';
}

// job-status is a flag of its own; token (the cache API of GitHub's cache service) and matrix (GitLab's job name
// carries its matrix) are GitHub's, no CLI inputs.
const INPUT_NAMES = Object.keys(INPUT_DEFAULTS).filter((n) => n !== 'job-status' && n !== 'token' && n !== 'matrix') as InputName[];
export const envName = (input: string) => `SETUP_DIND_${input.toUpperCase().replace(/-/g, '_')}`;

export const HELP = `setup-dind ${VERSION}: give this CI job its own Docker daemon.

Usage:
  setup-dind start [--input value ...]   start the daemon (mode dind by default), wait until it answers,
                                          write the variables to <state-dir>/setup-dind.env
  setup-dind wait  [--docker-host URL]    wait until DOCKER_HOST (or --docker-host) really answers
  setup-dind env   [--format shell|dotenv] print the variables of the started daemon (eval "$(setup-dind env)")
  setup-dind stop                         print the daemon's log if the job failed, remove everything start made

Every input of the GitHub action is a flag (--mode, --image, --registry-mirrors, --registry-certs, --cache,
--cache-dir, --wait-timeout, ...) and a variable (SETUP_DIND_MODE, SETUP_DIND_REGISTRY_MIRRORS, ...); flags win.
  --state-dir DIR    where start keeps its state for stop (default $SETUP_DIND_STATE_DIR, else a per-job directory
                     under the temporary directory)
  --job-status S     for stop: success, failure or cancelled (default: GitLab's CI_JOB_STATUS)
Exit codes: 0 ok, 1 failure, 2 bad usage.`;

export function parseCli(argv: string[], env: Readonly<Record<string, string | undefined>>): CliInvocation {
  const inputs: Partial<Record<InputName, string>> = {};
  for (const name of INPUT_NAMES) {
    const value = env[envName(name)];
    if (value !== undefined) inputs[name] = value;
  }
  let command: CliInvocation['command'] | undefined;
  let stateDir = env.SETUP_DIND_STATE_DIR;
  let format: CliInvocation['format'] = 'shell';
  let jobStatus = env.SETUP_DIND_JOB_STATUS ?? ({ failed: 'failure', canceled: 'cancelled', success: 'success' } as Record<string, string>)[env.CI_JOB_STATUS ?? ''];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { command: 'help', inputs, stateDir: '', format };
    if (arg === '--version' || arg === '-V') return { command: 'version', inputs, stateDir: '', format };
    if (!arg.startsWith('--')) {
      if (command) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; one command at a time (${COMMANDS.join(', ')})`);
      if (!(COMMANDS as readonly string[]).includes(arg)) throw new UsageError(`unknown command ${JSON.stringify(arg)}; use one of ${COMMANDS.join(', ')}`);
      command = arg as Command;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i]!;
    }
    if (name === 'state-dir') stateDir = value;
    else if (name === 'job-status') jobStatus = value;
    else if (name === 'format') {
      if (value !== 'shell' && value !== 'dotenv') throw new UsageError(`--format ${JSON.stringify(value)}: use shell or dotenv`);
      format = value;
    } else if ((INPUT_NAMES as string[]).includes(name)) inputs[name as InputName] = value;
    else throw new UsageError(`unknown option --${name}; see setup-dind --help for the options`);
  }
  if (!command) throw new UsageError(`no command; use one of ${COMMANDS.join(', ')} (setup-dind --help)`);
  const filled: Partial<Record<InputName, string>> = { ...Object.fromEntries(INPUT_NAMES.map((n) => [n, INPUT_DEFAULTS[n]])), ...inputs };
  filled['job-status'] = jobStatus ?? 'success';
  filled.token = '';
  filled.matrix = '';
  const jobId = env.CI_JOB_ID || `${process.getuid?.() ?? 'user'}`;
  // The user's runtime directory (private, on tmpfs) when there is one; else the shared temporary directory, where
  // the directory is checked before use (stateDirProblem).
  return { command, inputs: filled, stateDir: stateDir || join(usableRuntimeDir(env) ?? tmpdir(), `setup-dind-${jobId}`), format };
}

/** Runs one invocation; returns the exit code. */
export async function runCli(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (text: string) => void = (t) => void process.stdout.write(`${t}\n`),
  err: (text: string) => void = (t) => void process.stderr.write(`${t}\n`),
): Promise<number> {
  let invocation: CliInvocation;
  try {
    invocation = parseCli(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`setup-dind: ${e.message}`);
    return 2;
  }
  if (invocation.command === 'help') {
    out(HELP);
    return 0;
  }
  if (invocation.command === 'version') {
    out(VERSION);
    return 0;
  }
  try {
    // `env` output is eval'ed: a directory someone else controls is refused before anything is read from it.
    checkStateDir(invocation.stateDir);
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    err(`setup-dind: ${e.message}`);
    return 1;
  }
  if (invocation.command === 'env') {
    const saved = readSaved(invocation.stateDir);
    if (!Object.keys(saved.env).length) {
      err(`setup-dind: nothing started in ${invocation.stateDir}; run setup-dind start first (or pass --state-dir)`);
      return 1;
    }
    out(invocation.format === 'dotenv' ? dotenv(saved.env) : shellExports(saved.env, saved.paths));
    return 0;
  }
  const inputs = { ...invocation.inputs };
  if (invocation.command === 'wait') {
    inputs.mode = 'external';
    inputs['docker-host'] = inputs['docker-host'] || env.DOCKER_HOST || '';
    if (!inputs['docker-host']) {
      err('setup-dind: wait needs DOCKER_HOST or --docker-host');
      return 2;
    }
    // Like the docker CLI: a tcp:// DOCKER_HOST with DOCKER_TLS_VERIFY set uses DOCKER_CERT_PATH (else ~/.docker).
    const tlsFromEnv = env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0' && inputs['docker-host'].startsWith('tcp://');
    if (!inputs['tls-cert-path'] && tlsFromEnv) inputs['tls-cert-path'] = env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker');
  }
  let platform;
  try {
    platform = shellPlatform({ env, inputs, stateDir: invocation.stateDir, out, err });
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    err(`setup-dind: ${e.message}`);
    return 1;
  }
  if (invocation.command === 'start') {
    await runPre(platform);
    if (platform.exitCode === 0) await runMain(platform);
    if (platform.exitCode === 0) out(`setup-dind: variables in ${platform.envFile}; load them with: eval "$(setup-dind env --state-dir ${invocation.stateDir})"`);
  } else if (invocation.command === 'wait') {
    await runMain(platform);
  } else {
    await runPost(platform);
    // The CLI's own files: the state, the dotenv file and the summary (the directory too, once empty).
    for (const file of ['state.json', 'setup-dind.env', 'summary.md']) rmSync(join(invocation.stateDir, file), { force: true });
    try {
      rmdirSync(invocation.stateDir);
    } catch {
      // not empty: something else lives there, and it is not ours to remove
    }
  }
  return platform.exitCode;
}
