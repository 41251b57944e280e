// The job: action.yml loading, and the Job class (contexts, env, inputs, conditions, running one step, its headers).
// Moved from runner.ts.
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SecretMasker } from './commands.js';
import { ContextDict, evaluateCondition, evaluateTemplate, type EvalContext } from './expressions.js';
import type { JobStatus, StepConclusion, PhaseKind, JobStep, RunJobOptions, Annotation, PhaseResult } from './runner-types.js';
import { which, setCaseInsensitive, hasKeyCaseInsensitive, type ResolvedUser, RunningProcess, LineSplitter } from './processes.js';
import { nodeRuntimeOf, JobContainer } from './container-job.js';
import { FILE_COMMANDS, processFileCommands } from './file-commands.js';
import { CommandProcessor } from './workflow-commands.js';

// action.yml

export interface ActionInputDef {
  name: string;
  default: string | undefined;
  deprecationMessage?: string;
}

export interface ActionDefinition {
  name: string;
  inputs: ActionInputDef[];
  using: string;
  main: string;
  pre?: string;
  post?: string;
  preIf: string;
  postIf: string;
}

export function scalarToString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`harness: expected a scalar in action.yml, got ${JSON.stringify(v)}`);
}

export async function loadAction(actionDir: string): Promise<ActionDefinition> {
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
// The job

export interface StepSpec {
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

export interface ActiveStep {
  spec: StepSpec;
  proc?: RunningProcess;
  cancelledByJob: boolean;
  exprContext: () => EvalContext;
}

export class Job {
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
      // A job as the runner's own user keeps the runner's cache directory (scripts/prepare.sh points it into the run's temp root).
      ...(!user && process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}),
      // Where the host's jobs reserve their ports: the runner's service environment, the same for every job of the host.
      ...(process.env.SETUP_DIND_PORT_RESERVATIONS ? { SETUP_DIND_PORT_RESERVATIONS: process.env.SETUP_DIND_PORT_RESERVATIONS } : {}),
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
    await processFileCommands(this, spec, result, files, fail);
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

export function stepContextEntry(r: PhaseResult): ContextDict {
  return new ContextDict(`steps.${r.id}`, {
    outputs: new ContextDict(`steps.${r.id}.outputs`, { ...r.outputs }),
    outcome: r.outcome,
    conclusion: r.conclusion,
  });
}

export function signalNumber(sig: string | null): number {
  if (!sig) return 0;
  return (os.constants.signals as Record<string, number>)[sig] ?? 0;
}

/** A phase that has not run (yet): every step starts as this, and a post that was never registered stays so. */
export function skippedPhase(phase: PhaseKind, name: string, id?: string): PhaseResult {
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
