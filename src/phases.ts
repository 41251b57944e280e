// The three phases of a job as plain functions over a platform: pre starts the daemon early, main waits until it
// answers and hands it to the job, post removes what the job created. Entry points only pick the platform.
import { readFile } from 'node:fs/promises';
import type { DaemonMode, JobDaemon } from './daemon/daemon.js';
import { dindDaemon } from './daemon/dind.js';
import { existingDaemon } from './daemon/existing.js';
import { type EngineLocation, checkedEndpoint, formatAddress, loadEndpoint, locateEngine } from './endpoint/endpoint.js';
import { type DaemonInfo, EngineClient } from './engine/client.js';
import { STOP_GRACE_SECONDS, cleanupSession, reapStale, stopBackground } from './cleanup/cleanup.js';
import { type Inputs, InputError, parseInputs } from './inputs/inputs.js';
import type { Platform } from './platform/platform.js';
import { type Clock, NotReadyError, type Ready, realClock, waitUntilReady } from './engine/readiness.js';
import { newSessionId, sessionLabels } from './session/session.js';
import { type RunProbeResult, probeContainerRun } from './background/run-probe.js';
import { runCheckVerdict } from './background/run-check.js';
import { type CacheRecord, cacheDeadlineMs, backendFromRecord, mb, restoreEntry, saveEntry, selectImages, startCache } from './cache/cache.js';
import type { TarSource } from './cache/backend.js';
import { type DaemonSeed, type SnapshotPlace, restoreDataRootSnapshot, seedDaemon, snapshotDataRoot } from './cache/data-root.js';
import { cacheOutputs } from './cache/outputs.js';
import { pruneAfterSave } from './cache/prune.js';
import { saveDindImage } from './cache/dind-image.js';
import { applyBuilder, undoBuilder } from './builder/apply.js';
import { startClient, undoClient } from './dockercli/apply.js';
import { type SessionState, StateRecorder } from './state.js';
import { ensureJobDir } from './session/jobdir.js';
import { CONTEXT_NAME, type ContextRecord, handOver, removeDockerContext } from './dockercli/context.js';
import { applyRegistry, checkRegistryEarly, undoRegistry } from './registry/apply.js';
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

const LOG_TAIL_LINES = 60;

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

/** data-root: restores the newest entry into the daemon's volume before dockerd starts (pre). */
function restoreDataRoot(inputs: Inputs, platform: Platform, state: StateRecorder) {
  // The helper mounts the daemon's volume; the daemon's container stays created, not started.
  return async (engine: EngineClient, containerId: string): Promise<boolean> => {
    const started = startCache(inputs, platform);
    if (!started) return true;
    // The image the daemon's container runs (it may have come from the cache under another name).
    const image = (await engine.inspectContainer(containerId))?.image ?? inputs.dind.image;
    const place = snapshotPlace(engine, state.value!, image, platform);
    return restoreRecorded(started, platform, state, (tar) => restoreDataRootSnapshot(place, tar));
  };
}

/** The cache's restore into the daemon's volume, its record saved in state; false when it failed part-way. */
async function restoreRecorded(started: NonNullable<ReturnType<typeof startCache>>, platform: Platform, state: StateRecorder, consume: (tar: TarSource) => Promise<void>, waited?: () => number): Promise<boolean> {
  const record = await restoreEntry(started.backend, started.record, consume, platform.log, cacheDeadlineMs(platform.env), waited);
  state.update({ cache: record });
  return !record.failed;
}

/** data-root through the daemon's own init script: the lookup starts now, the unpack when its container starts. */
function seedDataRoot(inputs: Inputs, platform: Platform, state: StateRecorder) {
  return async (): Promise<DaemonSeed | undefined> => {
    const started = startCache(inputs, platform);
    if (!started) return undefined;
    const jobDir = state.value?.jobDir;
    if (!jobDir) throw new Error('the job directory is not recorded in state');
    const deadlineMs = cacheDeadlineMs(platform.env);
    // The init script waits for our word at most as long as the restore may take, and a minute more.
    return seedDaemon(jobDir, Math.ceil(deadlineMs / 1000) + 60, (consume, waited) => restoreRecorded(started, platform, state, consume, waited)).catch((e: Error) => {
      // Like every cache failure: a warning and a cold daemon (post may still save).
      platform.log.warning(`setup-dind cache: the data-root restore could not be prepared (${e.message}); the daemon starts cold.`);
      state.update({ cache: { ...started.record, failed: true } });
      return undefined;
    });
  };
}

/** Where a data-root snapshot is taken or restored: the daemon's volume on the outer engine, through the job directory. */
function snapshotPlace(engine: EngineClient, s: SessionState, image: string, platform: Platform): SnapshotPlace {
  if (!s.volume || !s.jobDir || !s.hostJobDir) throw new Error('the daemon\'s volume or job directory is not recorded in state');
  return { engine, image, volume: s.volume, jobDir: s.jobDir, hostJobDir: s.hostJobDir, labels: sessionLabels(s.session, platform.job) };
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
    const client = new EngineClient(daemon.endpoint);
    const target = `the ${inputs.mode} daemon at ${client.description}`;
    // wait-timeout covers the whole wait: time spent waiting for TLS files (external) is part of it.
    const { ready, info } = await waitForDaemon(inputs, daemon, client, target, { timeoutMs: inputs.waitTimeoutMs, startedAt: waitStarted }, platform, clock);
    // Taken when the daemon answered: certificates and the image cache below are not part of the wait.
    const waitSeconds = (clock.now() - mainStarted) / 1000;
    const bootSeconds = state.value?.startRequestedAt ? (Date.now() - state.value.startRequestedAt) / 1000 : undefined;
    const { probe, moreEnv, registry, cache } = await checkAndPrepare(inputs, platform, state, daemon, client, ready.version.arch);
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
    platform.log.info(`setup-dind: ${target} is ready (Docker ${ready.version.version}, ${info.storageDriver}) after waiting ${waitSeconds.toFixed(2)} s.`);
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
        'Storage driver': info.storageDriver,
        ...(bootSeconds !== undefined ? { 'Boot to ready': `${bootSeconds.toFixed(2)} s` } : {}),
        ...(probe ? { 'Container run check': `a container started in ${Math.round(probe.ms)} ms` } : {}),
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
  const checking = inputs.mode === 'dind' && state.value?.privilege !== 'privileged'
    ? checkCanRunContainers(client, arch, state.value, platform)
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

/** dind: the longest pause between two readiness probes, and between two checks that the daemon's container still runs. */
const LOCAL_POLL_MS = 50;
const GIVE_UP_CHECK_MS = 500;

/** Waits until the daemon answers; when it will not, the error carries the last lines of its log (all of them in a group). */
async function waitForDaemon(inputs: Inputs, daemon: JobDaemon, client: EngineClient, target: string, wait: { timeoutMs: number; startedAt: number }, platform: Platform, clock: Clock): Promise<{ ready: Ready; info: DaemonInfo }> {
  let info: DaemonInfo | undefined;
  // One call per probe, and its answer is also the daemon's info: nothing more to ask once it is ready.
  const probe = async (ms: number) => {
    const answer = await client.probe(ms);
    info = answer.info;
    return answer;
  };
  // A daemon this job started boots on this machine: poll its socket often (a failed connect costs nothing), and ask
  // the engine whether its container died at most twice a second.
  const local = inputs.mode === 'dind';
  let lastGiveUp = -Infinity;
  const giveUp = daemon.giveUp && (async () => {
    if (local && clock.now() - lastGiveUp < GIVE_UP_CHECK_MS) return undefined;
    lastGiveUp = clock.now();
    return daemon.giveUp!();
  });
  try {
    const ready = await waitUntilReady({ target, ...wait, probe, giveUp, clock, ...(local ? { maxDelayMs: LOCAL_POLL_MS } : {}) });
    return { ready, info: info ?? (await client.info()) };
  } catch (e) {
    if (!(e instanceof NotReadyError) || !daemon.logTail) throw e;
    const tail = await daemon.logTail(LOG_TAIL_LINES).catch((err: Error) => `(its log could not be read: ${err.message})`);
    await platform.group('Daemon log (last lines)', async () => platform.log.info(tail));
    throw new Error(`${e.message}\nLast lines of the daemon's log:\n${lastLines(tail, 12)}`);
  }
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
    // Nothing runs in the background any more: the job's steps are done, and a daemon stopped for a save exits at once.
    const background = await stopBackground(s, platform.log);
    try {
      await undoBuilder(s, platform);
      if (s.cache && s.ready && s.endpoint) {
        const message = await platform.group('Image cache', () => saveImageCache(s.cache!, s, platform, jobStatus));
        platform.log.info(`setup-dind cache: ${message}.`);
        // saveEntry's message for a new entry starts with "saved ".
        if (message.startsWith('saved ')) await pruneAfterSave(s.cache, platform);
      }
      if (s.dindImage && s.outer && s.ready) platform.log.info(`setup-dind cache: ${await saveDindImage(new EngineClient(loadEndpoint(s.outer)), s.dindImage, platform)}.`);
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

/**
 * dind: a daemon that answers but cannot run a container (too few capabilities for namespaces, cgroups or its
 * network) fails here, with what it was granted and the remedy, instead of at the job's first `docker run`.
 */
async function checkCanRunContainers(client: EngineClient, arch: string, s: SessionState | undefined, platform: Platform): Promise<RunProbeResult> {
  // The check pre started has usually finished by now; without its verdict, main runs the probe itself.
  const early = s?.runCheck ? await runCheckVerdict(s.runCheck) : undefined;
  const result = early ?? (await probeContainerRun(client, arch));
  if (result.ok) {
    platform.log.info(`setup-dind: the daemon started a test container in ${Math.round(result.ms)} ms${early ? ' (checked in the background since pre)' : ''}.`);
    return result;
  }
  const granted = s?.privilegeGrant ? ` Its container runs with ${s.privilegeGrant}.` : '';
  const remedy = s?.privilege === 'minimal-capabilities'
    ? 'privileged: false grants only the minimal set, and this engine needs more: use privileged: auto (or true), runtime: sysbox-runc where Sysbox is installed, or mode: socket.'
    : 'Use a runner whose engine allows privileged containers, runtime: sysbox-runc where Sysbox is installed, or mode: socket.';
  throw new Error(`the daemon answers but cannot run a container (${result.error}).${granted} ${remedy}`);
}

/**
 * main: images are loaded into the job's daemon now; data-root was restored in pre. Either way the ids of the
 * selected images are recorded, so post can tell whether anything changed.
 */
async function prepareImageCache(inputs: Inputs, platform: Platform, state: StateRecorder, daemon: EngineClient, probeGone: Promise<void>): Promise<CacheRecord | undefined> {
  if (!inputs.cache) return undefined;
  let record = state.value?.cache;
  if (!record) {
    const started = startCache(inputs, platform);
    if (!started) return undefined;
    record = started.record;
    if (inputs.cache.strategy === 'images') {
      record = await restoreEntry(started.backend, record, (tar) => daemon.loadImages(tar.stream()), platform.log, cacheDeadlineMs(platform.env));
    }
  }
  try {
    // While the probe's image is being loaded or removed it can be listed without its tag, as one of the job's images.
    await probeGone;
    record = { ...record, fingerprint: (await selectImages(daemon, record.settings.images)).ids };
  } catch (e) {
    platform.log.warning(`setup-dind cache: could not list the images (${(e as Error).message}); post will save regardless.`);
  }
  state.update({ cache: record });
  return record;
}

function cacheFact(record: CacheRecord): string {
  if (!record.restoredKey) return `${record.settings.strategy}: nothing restored (${record.backend})`;
  return `${record.settings.strategy}: ${record.hit === 'true' ? 'hit' : 'partial hit'} ${record.restoredKey}, ${mb(record.restoredBytes ?? 0)} in ${(record.restoreSeconds ?? 0).toFixed(2)} s`;
}

/** post: saves the images when they changed; data-root stops the daemon cleanly first. Never throws. */
async function saveImageCache(record: CacheRecord, s: SessionState, platform: Platform, jobStatus: string): Promise<string> {
  const backend = backendFromRecord(record, platform);
  if (!backend) return 'not saved: no cache backend';
  try {
    const daemon = new EngineClient(loadEndpoint(s.endpoint!));
    const current = await selectImages(daemon, record.settings.images);
    if (record.settings.strategy === 'images') {
      return await saveEntry(backend, record, current, (refs) => daemon.exportImages(refs), platform.log, undefined, cacheDeadlineMs(platform.env), jobStatus);
    }
    const outer = new EngineClient(loadEndpoint(s.outer!));
    const id = s.containerId!;
    // The image is the one the daemon runs: post reads no inputs but job-status, so it comes from the container.
    const image = (await outer.inspectContainer(id))?.image ?? '';
    const prepare = async () => {
      await pruneForSnapshot(daemon);
      await stopCleanly(outer, id);
    };
    const place = { ...snapshotPlace(outer, s, image, platform), volumes: record.settings.volumes };
    return await saveEntry(backend, record, current, () => snapshotDataRoot(place), platform.log, prepare, cacheDeadlineMs(platform.env), jobStatus);
  } catch (e) {
    platform.log.warning(`setup-dind cache: could not save (${(e as Error).message}).`);
    return 'not saved: an error';
  }
}

/** Build cache a data-root snapshot keeps at most (the rest is pruned before it is taken). */
export const SNAPSHOT_BUILD_CACHE_BYTES = 1024 ** 3;

/**
 * Before a data-root snapshot: every container goes (a restored daemon would restart the last job's containers), and
 * unused networks, dangling images and build cache beyond SNAPSHOT_BUILD_CACHE_BYTES.
 */
async function pruneForSnapshot(daemon: EngineClient): Promise<void> {
  for (const id of await daemon.listContainerIds()) await daemon.removeContainer(id);
  await daemon.pruneUnused(SNAPSHOT_BUILD_CACHE_BYTES);
}

/**
 * data-root: dockerd must have shut down by itself (exit code 0) before its data root is archived. A daemon killed
 * after the grace period, or one that is still running, may have left its databases half-written: no snapshot.
 */
async function stopCleanly(outer: EngineClient, id: string): Promise<void> {
  await outer.stopContainer(id, STOP_GRACE_SECONDS);
  const c = await outer.inspectContainer(id);
  if (!c) throw new Error("the daemon's container is gone, so there is no data root to save");
  if (c.running) throw new Error(`the daemon is still running after the stop request (state: ${c.status}); its data root is not saved`);
  if (c.exitCode !== 0) {
    const how = c.exitCode === 137 ? `it was killed after ${STOP_GRACE_SECONDS} s` : `it exited with code ${c.exitCode}`;
    throw new Error(`the daemon did not shut down cleanly (${how}); a snapshot of its data root could be inconsistent, so it is not saved`);
  }
}

/** Waits (at most 5 s) until the runner's daemon reports the registry mirrors a reload was meant to set. */
function reloadedTo(daemon: EngineClient) {
  return async (expected: Record<string, unknown>): Promise<void> => {
    const want = ((expected['registry-mirrors'] as string[] | undefined) ?? []).map((m) => m.replace(/\/?$/, '/')).sort().join(',');
    const clock = realClock;
    const deadline = clock.now() + 5000;
    while (clock.now() < deadline) {
      const info = await daemon.info().catch(() => undefined);
      if (info && info.registryMirrors.map((m) => m.replace(/\/?$/, '/')).sort().join(',') === want) return;
      await clock.sleep(100);
    }
    throw new Error('the daemon did not report the restored registry mirrors within 5 s of the reload');
  };
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}

function summaryTable(title: string, rows: Record<string, string>): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return `### ${title}\n\n| | |\n|---|---|\n${Object.entries(rows).map(([k, v]) => `| ${escape(k)} | ${escape(v)} |`).join('\n')}\n\n`;
}
