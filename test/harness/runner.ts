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
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateTemplate } from './expressions.js';
import type { JobStep, RunJobOptions, PhaseResult, OrphanProcess, JobResult } from './runner-types.js';
import { systemTool, chownRecursive, type ResolvedUser, resolveUser, killOrphans, hasMountsBelow } from './processes.js';
import { resolveContainerOptions } from './container-job.js';
import { type ActionDefinition, loadAction, type StepSpec, Job, skippedPhase } from './job.js';
export * from './runner-types.js';
export { testUserName, ensureUser } from './processes.js';

// =============================================================================================
// runJob

/**
 * Run pre (if any) -> stepsBefore -> main -> steps -> post (if registered) -> orphan cleanup, and
 * report everything. Rejects only for harness problems (unknown expression, missing action.yml,
 * unknown user ...), never because a step failed.
 */
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
