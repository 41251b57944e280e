// The three phases of a job as plain functions over a platform: pre starts the daemon early, main waits until it
// answers and hands it to the job, post removes what the job created. Entry points only pick the platform.
import { readFile } from 'node:fs/promises';
import type { DaemonMode, JobDaemon } from './daemon/daemon.js';
import { dindDaemon } from './daemon/dind.js';
import { existingDaemon } from './daemon/existing.js';
import { type EngineLocation, checkedEndpoint, formatAddress, loadEndpoint, locateEngine } from './endpoint/endpoint.js';
import { EngineClient } from './engine/client.js';
import { cleanupSession, reapStale, stopBackground } from './cleanup/cleanup.js';
import { type Inputs, InputError, parseInputs } from './inputs/inputs.js';
import type { Platform } from './platform/platform.js';
import { type Clock, realClock } from './engine/readiness.js';
import { newSessionId } from './session/session.js';
import { BACKGROUND_CHECK, checkCanRunContainers, lateFailure } from './background/run-check.js';
import { waitForDaemon } from './daemon/wait.js';
import { cacheFact, prepareImageCache, restoreDataRoot, saveCaches, seedDataRoot, warnStoreMismatch } from './cache/apply.js';
import { storageName } from './cache/image-store.js';
import { cacheOutputs } from './cache/outputs.js';
import { applyBuilder, undoBuilder } from './builder/apply.js';
import { startClient, undoClient } from './dockercli/apply.js';
import { StateRecorder } from './state.js';
import { ensureJobDir } from './session/jobdir.js';
import { CONTEXT_NAME, type ContextRecord, handOver, removeDockerContext } from './dockercli/context.js';
import { applyRegistry, checkRegistryEarly, reloadedTo, undoRegistry } from './registry/apply.js';
import { changedSince, restartNotice, startDigests, unsupportedPlatform } from './inputs/guards.js';

export interface PhaseOptions {
  clock?: Clock;
  readProcStatus?: () => Promise<string>;
  socketGroup?: () => number;
  /** The runner's operating system (default: this process's). */
  os?: NodeJS.Platform;
  /**
   * The phase's own bundle, which starts the early run check (background/run-check.ts) when run with its flag. Only the
   * action's pre passes it: where main follows at once (the CLI's start), main runs the probe itself.
   */
  helperScript?: string;
}

/** Not Linux: the phase ends at once with one message (an error in pre and main, a warning in post). */
function endsOnThisPlatform(platform: Platform, options: PhaseOptions, report: 'fail' | 'warn'): boolean {
  const problem = unsupportedPlatform(options.os ?? process.platform);
  if (!problem) return false;
  if (report === 'fail') platform.fail(problem);
  else platform.log.warning(problem);
  return true;
}

/**
 * The engine of a phase: located on first use, then the same for the whole phase (the reaper, the mode's start and
 * its attach). Lazily, because main after pre in dind mode needs none: it talks to the engine pre recorded in state.
 */
function phaseEngine(inputs: Inputs, platform: Platform): () => EngineLocation {
  let located: EngineLocation | undefined;
  return () => (located ??= locateEngine(inputs, platform.env));
}

function daemonMode(inputs: Inputs, platform: Platform, state: StateRecorder, engine: () => EngineLocation, options: PhaseOptions): DaemonMode {
  if (inputs.mode !== 'dind') return existingDaemon(inputs, engine, state, options.clock);
  return dindDaemon(inputs, platform, state, engine, {
    readProcStatus: options.readProcStatus ?? (() => readFile('/proc/self/status', 'utf8')),
    socketGroup: options.socketGroup ?? (() => process.getgid?.() ?? 0),
    beforeStart: inputs.cache?.strategy === 'data-root' ? restoreDataRoot(inputs, platform, state) : undefined,
    seed: inputs.cache?.strategy === 'data-root' ? seedDataRoot(inputs, platform, state) : undefined,
    helperScript: options.helperScript,
  });
}

/** Parses inputs, or fails the step with every problem at once and returns undefined. */
function readInputs(platform: Platform): Inputs | undefined {
  try {
    return parseInputs((name) => platform.input(name), { workspace: platform.job.workspace });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    platform.fail(`${e.message}\nNothing was started.`);
    return undefined;
  }
}

async function startDaemon(inputs: Inputs, platform: Platform, state: StateRecorder, engine: () => EngineLocation, options: PhaseOptions, reuseSession?: string): Promise<void> {
  // Certificates that exist already (inline, or outside the workspace) are checked before anything starts.
  const problems = await checkRegistryEarly(inputs, platform.job.workspace);
  if (problems.length) throw new InputError(problems);
  const session = reuseSession ?? newSessionId(platform.job);
  state.begin({ session, mode: inputs.mode, startedWith: startDigests(platform) });
  if (inputs.cleanupStaleMs !== undefined) {
    const removed = await reapStale(new EngineClient(checkedEndpoint(engine())), inputs.cleanupStaleMs, session, platform.log);
    platform.log.info(`setup-dind cleanup-stale: ${removed.length ? `removed ${removed.join(', ')}` : 'nothing older than the threshold'}.`);
  }
  await daemonMode(inputs, platform, state, engine, options).start();
}

export async function runPre(platform: Platform, options: PhaseOptions = {}): Promise<void> {
  if (endsOnThisPlatform(platform, options, 'fail')) return;
  const inputs = readInputs(platform);
  if (!inputs) return;
  const state = new StateRecorder(platform.state);
  const started = performance.now();
  try {
    await startDaemon(inputs, platform, state, phaseEngine(inputs, platform), options);
    platform.log.info(`setup-dind: ${inputs.mode} daemon starting (${Math.round(performance.now() - started)} ms); main waits for it.`);
  } catch (e) {
    if (e instanceof InputError) platform.fail(`${e.message}\nNothing was started.`);
    else platform.fail(`setup-dind could not start the daemon: ${(e as Error).message}`);
  }
}

export async function runMain(platform: Platform, options: PhaseOptions = {}): Promise<void> {
  if (endsOnThisPlatform(platform, options, 'fail')) return;
  const inputs = readInputs(platform);
  if (!inputs) return;
  const state = new StateRecorder(platform.state);
  const clock = options.clock ?? realClock;
  const mainStarted = clock.now();
  const engine = phaseEngine(inputs, platform);
  try {
    if (!state.value) {
      // pre did not run (a composite action, or pre was skipped): start now.
      await startDaemon(inputs, platform, state, engine, options);
    } else {
      const changed = changedSince(state.value.startedWith, startDigests(platform));
      if (changed.length) {
        // Never ignored silently: what pre started goes, and main's values start a new daemon (same session id).
        platform.log.warning(restartNotice(changed));
        const report = await cleanupSession(state.value, platform.log);
        if (report.warnings.length) throw new Error(`the daemon pre started could not be removed for the restart (${report.warnings.join('; ')})`);
        await startDaemon(inputs, platform, state, engine, options, state.value.session);
      }
    }
    const waitStarted = clock.now();
    const daemon = await daemonMode(inputs, platform, state, engine, options).attach();
    // The image's CLI is copied out of the daemon's container while the daemon boots.
    const clientCopy = inputs.client ? startClient(platform, state, inputs.dind.image) : undefined;
    const client = new EngineClient(daemon.internal ?? daemon.endpoint);
    const target = `the ${inputs.mode} daemon at ${daemon.internal ? new EngineClient(daemon.endpoint).description : client.description}`;
    // wait-timeout covers the whole wait: time spent waiting for TLS files (external) is part of it.
    const { ready, info } = await waitForDaemon(inputs, daemon, client, target, { timeoutMs: inputs.waitTimeoutMs, startedAt: waitStarted }, platform, clock);
    // Taken when the daemon answered: certificates and the image cache below are not part of the wait.
    const waitSeconds = (clock.now() - mainStarted) / 1000;
    const bootSeconds = state.value?.startRequestedAt ? (Date.now() - state.value.startRequestedAt) / 1000 : undefined;
    const { probe, moreEnv, registry, cache } = await checkAndPrepare(inputs, platform, state, daemon, client, ready.version.arch);
    if (cache?.settings.strategy === 'data-root' && cache.restoredKey) await warnStoreMismatch(state.value!, client, info, platform);
    state.update({ ready: true });
    const builder = await applyBuilder(inputs.builder, platform, state, client, daemon.endpoint, registry.outputs['buildkitd-config'] ?? '');
    const outputs: Record<string, string> = {
      'docker-host': formatAddress(daemon.endpoint.address),
      'daemon-version': ready.version.version,
      'api-version': ready.version.apiVersion,
      'storage-driver': info.storageDriver,
      'ready-seconds': waitSeconds.toFixed(3),
      ...daemon.outputs,
      ...registry.outputs,
      ...cacheOutputs(cache),
      ...builder.outputs,
    };
    for (const [name, value] of Object.entries(outputs)) platform.setOutput(name, value);
    await handToJob(daemon, outputs['docker-host']!, inputs, platform, state, moreEnv);
    // After the docker context: post takes our plugin directory out of config.json before the context restores it.
    const clientFacts = (await clientCopy?.finish()) ?? {};
    platform.log.info(`setup-dind: ${target} is ready (Docker ${ready.version.version}, ${storageName(info)}) after waiting ${waitSeconds.toFixed(2)} s.`);
    await platform.appendSummary(
      summaryTable('setup-dind', {
        Mode: inputs.mode,
        ...daemon.facts,
        ...registry.facts,
        ...(cache ? { 'Image cache': cacheFact(cache) } : {}),
        ...builder.facts,
        ...clientFacts,
        'DOCKER_HOST': `\`${outputs['docker-host']}\``,
        'Docker version': `${ready.version.version} (API ${ready.version.apiVersion})`,
        'Storage driver': storageName(info),
        ...(bootSeconds !== undefined ? { 'Boot to ready': `${bootSeconds.toFixed(2)} s` } : {}),
        ...(probe ? { 'Container run check': probe === 'pending' ? BACKGROUND_CHECK : `a container started in ${Math.round(probe.ms)} ms` } : {}),
        'Main step waited': `${waitSeconds.toFixed(2)} s`,
      }),
    );
  } catch (e) {
    platform.fail(`setup-dind: ${(e as Error).message}`);
  }
}

/**
 * Once the daemon answers: the run check (dind without --privileged: 0.6-1 s on a busy 2-core runner, so it runs only
 * where it can fail) side by side with what needs no container run (the port forwarder, registry files, the image
 * cache). The check's verdict comes first: when it fails, main fails with its error, whatever the rest did (all of
 * which is recorded in state for post).
 */
async function checkAndPrepare(inputs: Inputs, platform: Platform, state: StateRecorder, daemon: JobDaemon, client: EngineClient, arch: string) {
  // Gated (run-gate.ts), main need not wait for the verdict unless its own work runs containers or lists images.
  const mayLeave = !inputs.cache && !inputs.builder;
  const checking = inputs.mode === 'dind' && state.value?.privilege !== 'privileged'
    ? checkCanRunContainers(client, arch, state.value, platform, mayLeave)
    : Promise.resolve(undefined);
  // The run probe loads and removes an image of its own: the cache's list of the daemon's images waits until it is gone.
  const probeGone = checking.then(() => undefined, () => undefined);
  const preparing = (async () => {
    const moreEnv = (await daemon.afterReady?.()) ?? {};
    const registry = await applyRegistry(inputs, platform, state, () => ensureJobDir(platform.job, state));
    const cache = await prepareImageCache(inputs, platform, state, client, probeGone);
    return { moreEnv, registry, cache };
  })();
  const [checked, prepared] = await Promise.allSettled([checking, preparing]);
  if (checked.status === 'rejected') throw checked.reason;
  if (prepared.status === 'rejected') throw prepared.reason;
  return { probe: checked.value, ...prepared.value };
}

/** Makes the daemon the job's: DOCKER_HOST and friends, or only a docker context (recorded in state). */
async function handToJob(daemon: JobDaemon, dockerHost: string, inputs: Inputs, platform: Platform, state: StateRecorder, moreEnv: Record<string, string> = {}): Promise<void> {
  const io = {
    exportVariable: (name: string, value: string) => platform.exportVariable(name, value),
    record: (dockerContext: ContextRecord) => state.update({ dockerContext }),
    warning: (text: string) => platform.log.warning(text),
  };
  if (state.value?.containerJob) {
    // The runner's own `docker exec` reads DOCKER_HOST from the step environment: use a docker context instead.
    const how = await handOver('context', daemon.endpoint, platform.env, io);
    platform.log.info(
      `setup-dind: this is a container job (${state.value.containerJob}), so DOCKER_HOST is not exported (the runner's own docker exec would use it); ` +
        `${how}. Other tools: export DOCKER_HOST=${dockerHost} inside your run script.`,
    );
  } else {
    platform.log.info(`setup-dind: ${await handOver(inputs.setHost ? 'environment' : 'context', daemon.endpoint, platform.env, io)}.`);
    for (const [name, value] of Object.entries(moreEnv)) platform.exportVariable(name, value);
  }
}

export async function runPost(platform: Platform, options: Pick<PhaseOptions, 'os'> = {}): Promise<void> {
  if (endsOnThisPlatform(platform, options, 'warn')) return;
  let state: StateRecorder;
  try {
    state = new StateRecorder(platform.state);
  } catch (e) {
    platform.log.warning(`setup-dind post: ${(e as Error).message}`);
    return;
  }
  const s = state.value;
  if (!s) {
    platform.log.info('setup-dind: nothing to clean up (the action did not start anything in this job).');
    return;
  }
  const started = performance.now();
  try {
    // Post reads only job-status: an input that was invalid earlier must not stop the cleanup.
    const jobStatus = platform.input('job-status').trim().toLowerCase();
    const failed = jobStatus === 'failure' || jobStatus === 'cancelled' || !s.ready;
    if (failed && s.outer && s.containerId) {
      const engine = new EngineClient(loadEndpoint(s.outer));
      const tail = await engine.containerLogs(s.containerId, 200).catch((e: Error) => `(the daemon's log could not be read: ${e.message})`);
      await platform.group(`Docker daemon log (the job ${jobStatus === 'success' ? 'did not reach a ready daemon' : `status is ${jobStatus || 'unknown'}`})`, async () => platform.log.info(tail));
    }
    await undoClient(s, platform).catch((e: Error) => platform.log.warning(`setup-dind: could not remove the docker CLI directory: ${e.message}`));
    if (s.dockerContext) {
      await removeDockerContext(s.dockerContext).catch((e: Error) => platform.log.warning(`Could not remove the docker context "${CONTEXT_NAME}": ${e.message}`));
    }
    // A run check that failed after main had ended: the job's docker commands got its reason; the log says it too.
    const late = lateFailure(s);
    if (late) platform.log.error(late);
    // Nothing runs in the background any more: the job's steps are done, and a daemon stopped for a save exits at once.
    const background = await stopBackground(s, platform.log);
    try {
      await undoBuilder(s, platform);
      await saveCaches(s, platform, jobStatus);
      const restored = await undoRegistry(s.hostChanges, platform.log, s.endpoint ? reloadedTo(new EngineClient(loadEndpoint(s.endpoint))) : undefined);
      if (restored.length) platform.log.info(`setup-dind: restored ${restored.join(', ')}.`);
    } finally {
      // Whatever happened to the cache save or the host files, the daemon and its objects are removed.
      const report = await cleanupSession(s, platform.log, background);
      state.update({ cleanedUp: true });
      const took = ((performance.now() - started) / 1000).toFixed(2);
      if (report.removed.length) platform.log.info(`setup-dind: removed ${report.removed.join(', ')} in ${took} s.`);
      else platform.log.info(`setup-dind: nothing of this job's was left to remove (${took} s).`);
    }
  } catch (e) {
    platform.log.warning(`setup-dind post: ${(e as Error).message}`);
  }
}

function summaryTable(title: string, rows: Record<string, string>): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return `### ${title}\n\n| | |\n|---|---|\n${Object.entries(rows).map(([k, v]) => `| ${escape(k)} | ${escape(v)} |`).join('\n')}\n\n`;
}
