/**
 * Writes a tiny fake JavaScript action (action.yml + pre/main/post scripts using only node
 * builtins) for exercising the harness. Every phase:
 *  - prints `REPORT {json}` with the INPUT_* / STATE_* variables and a few others it received
 *    (`seen`: the runner directories/files it was given, HOME, and its own node binary/version);
 *  - then does what the JSON in env `FAKE_<PHASE>` (FAKE_PRE / FAKE_MAIN / FAKE_POST) asks:
 *      state/output/env: {name: value} written to GITHUB_STATE/GITHUB_OUTPUT/GITHUB_ENV
 *                        (values with a newline use the heredoc form, like @actions/core)
 *      raw: {OUTPUT|ENV|STATE|PATH: 'text'} appended verbatim to that file
 *      path: [dirs] appended to GITHUB_PATH;  summary: 'markdown' appended to GITHUB_STEP_SUMMARY
 *      stdout / stderr: [lines] printed
 *      sleepMs: wait that long;  onSignal: {SIGINT: exitCode|null} print `got SIGINT`, exit with that code (null: keep going)
 *      holdStreams: spawn a detached `sleep 30` that inherits stdout/stderr
 *      exit: exit code
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runJob, type JobResult, type RunJobOptions } from './runner.js';

const LIB = String.raw`
import fs from 'node:fs';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';

function fileCommand(file, name, value) {
  const target = process.env['GITHUB_' + file];
  if (String(value).includes('\n')) {
    const d = 'ghadelimiter_' + crypto.randomUUID();
    fs.appendFileSync(target, name + '<<' + d + '\n' + value + '\n' + d + '\n');
  } else {
    fs.appendFileSync(target, name + '=' + value + '\n');
  }
}

export async function run(phase) {
  const env = process.env;
  const pick = (prefix) => Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(prefix)));
  const report = {
    phase,
    inputs: pick('INPUT_'),
    state: pick('STATE_'),
    fake: pick('FAKE_VAR'),
    path: env.PATH,
    cwd: process.cwd(),
    uid: process.getuid(),
    has: Object.fromEntries(['GITHUB_ACTION_PATH', 'DOCKER_HOST', 'RUNNER_TRACKING_ID', 'GITHUB_ACTIONS', 'CI'].map((k) => [k, env[k] ?? null])),
    seen: {
      ...Object.fromEntries(
        ['RUNNER_TEMP', 'RUNNER_TOOL_CACHE', 'RUNNER_WORKSPACE', 'GITHUB_WORKSPACE', 'GITHUB_EVENT_PATH', 'GITHUB_ENV', 'GITHUB_OUTPUT',
          'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY', 'HOME'].map((k) => [k, env[k] ?? null]),
      ),
      node: process.execPath,
      nodeVersion: process.version,
      script: process.argv[1] ?? null,
      eventRepository: (() => { try { return JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, 'utf8')).repository.full_name; } catch { return null; } })(),
    },
  };
  console.log('REPORT ' + JSON.stringify(report));
  const spec = JSON.parse(env['FAKE_' + phase.toUpperCase()] || '{}');
  for (const [k, v] of Object.entries(spec.state ?? {})) fileCommand('STATE', k, v);
  for (const [k, v] of Object.entries(spec.output ?? {})) fileCommand('OUTPUT', k, v);
  for (const [k, v] of Object.entries(spec.env ?? {})) fileCommand('ENV', k, v);
  for (const [k, v] of Object.entries(spec.raw ?? {})) fs.appendFileSync(env['GITHUB_' + k], v);
  for (const p of spec.path ?? []) fs.appendFileSync(env.GITHUB_PATH, p + '\n');
  if (spec.summary) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, spec.summary);
  for (const l of spec.stdout ?? []) console.log(l);
  for (const l of spec.stderr ?? []) console.error(l);
  for (const [sig, code] of Object.entries(spec.onSignal ?? {})) {
    process.on(sig, () => { console.log('got ' + sig); if (code !== null) process.exit(code); });
  }
  if (spec.holdStreams) {
    const child = spawn('sleep', ['30'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    child.unref();
    console.log('HOLDER ' + child.pid);
  }
  if (spec.sleepMs) await new Promise((r) => setTimeout(r, spec.sleepMs));
  if (spec.exit) process.exit(spec.exit);
}
`;

export interface FakeActionOptions {
  /** `runs.using` (default node20) */
  using?: string;
  /** extra `runs:` keys, e.g. { 'pre-if': "runner.os == 'Windows'" } */
  runs?: Record<string, string>;
  /** omit the pre / post scripts */
  noPre?: boolean;
  noPost?: boolean;
  /** extra inputs block lines (YAML, indented by two spaces) */
  extraInputs?: string;
}

export async function writeFakeAction(opts: FakeActionOptions = {}): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fake-action-'));
  await fsp.chmod(dir, 0o755);
  const runsExtra = Object.entries(opts.runs ?? {})
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const yml = `name: fake
description: fake action for the harness tests
inputs:
  greeting:
    description: has a default
    default: hello
  wait-timeout:
    description: hyphenated
    default: '60'
  with space:
    description: spaces become underscores
    default: spaced
  number:
    description: a YAML number default
    default: 30
  no-default:
    description: no default at all
  temp-dir:
    description: expression default
    default: \${{ runner.temp }}/fake
  job-status:
    description: evaluated per stage
    default: \${{ job.status }}
${opts.extraInputs ?? ''}
runs:
  using: ${opts.using ?? 'node20'}
${opts.noPre ? '' : '  pre: pre.js\n'}  main: main.js
${opts.noPost ? '' : '  post: post.js\n'}${runsExtra}
`;
  await fsp.writeFile(path.join(dir, 'action.yml'), yml, { mode: 0o644 });
  await fsp.writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n', { mode: 0o644 });
  await fsp.writeFile(path.join(dir, 'lib.js'), LIB, { mode: 0o644 });
  for (const phase of ['pre', 'main', 'post']) {
    await fsp.writeFile(path.join(dir, `${phase}.js`), `import { run } from './lib.js';\nawait run('${phase}');\n`, {
      mode: 0o644,
    });
  }
  return dir;
}

export interface Report {
  phase: string;
  inputs: Record<string, string>;
  state: Record<string, string>;
  fake: Record<string, string>;
  path: string;
  cwd: string;
  uid: number;
  has: Record<string, string | null>;
  /** RUNNER_TEMP, RUNNER_TOOL_CACHE, RUNNER_WORKSPACE, GITHUB_WORKSPACE, GITHUB_EVENT_PATH, the file-command files, HOME; node, nodeVersion, script; eventRepository (read from GITHUB_EVENT_PATH) */
  seen: Record<string, string | null>;
}

/** The REPORT line a fake phase printed. */
export function reportOf(stdout: string): Report {
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`no REPORT line in:\n${stdout}`);
  return JSON.parse(line.slice('REPORT '.length)) as Report;
}

/** The JSON that tells each phase of the fake action what to do (env FAKE_PRE / FAKE_MAIN / FAKE_POST). */
export const fakeEnv = (phases: { pre?: object; main?: object; post?: object }): Record<string, string> =>
  Object.fromEntries(Object.entries(phases).map(([k, v]) => [`FAKE_${k.toUpperCase()}`, JSON.stringify(v)]));

/**
 * A job runner for harness tests: runs a job (the fake action unless actionDir is given) and queues the removal of
 * the action and the job's directories for `cleanAll()` (call it from afterAll).
 */
export function fakeJobs(): {
  job: (opts?: Partial<RunJobOptions> & { fake?: FakeActionOptions }) => Promise<JobResult>;
  cleanAll: () => Promise<void>;
} {
  const cleanups: Array<() => Promise<void>> = [];
  return {
    async job(opts = {}) {
      const { fake, ...rest } = opts;
      const actionDir = rest.actionDir ?? (await writeFakeAction(fake));
      cleanups.push(() => fsp.rm(actionDir, { recursive: true, force: true }));
      const result = await runJob({ stepTimeoutMs: 20_000, ...rest, actionDir });
      cleanups.push(() => result.cleanup());
      return result;
    },
    async cleanAll() {
      for (const c of cleanups.splice(0)) await c().catch(() => {});
    },
  };
}
