// dind mode: the job's own dockerd in a container started through the runner's engine, its data on a labelled
// volume, reached through a unix socket in a per-job directory (TLS on 127.0.0.1 only when TCP is asked for).
// This file starts it (volume, network, files, the first plan the engine accepts, the background helpers); the
// plans are dind-plan.ts, the attach in main dind-attach.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { ensureJobDir } from '../session/jobdir.js';
import { join } from 'node:path';
import { type DaemonEndpoint, type EngineLocation, checkedEndpoint, saveEndpoint } from '../endpoint/endpoint.js';
import { type ContainerSpec, EngineClient } from '../engine/client.js';
import { rootlessTlsDir } from './rootless.js';
import type { DaemonInputs as Inputs } from './settings.js';
import type { Logger, Platform, Recorder } from '../platform/platform.js';
import { objectName, sessionLabels } from '../session/session.js';
import { generateTls, writeTls } from '../endpoint/tls.js';
import type { DaemonMode, DindState, PrivilegeStrategy } from './daemon.js';
import { hostPathTranslator } from '../like-runner/host-paths.js';
import { supplyDindImage } from './image-supply.js';
import { restoreDindImage } from '../cache/dind-image.js';
import type { DaemonSeed } from '../cache/data-root.js';
import { daemonConfigFor } from '../registry/apply.js';
import { networkDaemonJson } from '../network/settings.js';
import { dindExtras } from '../like-runner/extras.js';
import { launchForwarder } from '../background/forwarder.js';
import { startRunCheck } from '../background/run-check.js';
import { helperGuard } from '../background/isolation.js';
import { type DindPlan, type DindSpecInput, MAX_SOCKET_PATH_BYTES, NESTED_DOCKERD_CAPABILITIES, describeGrant, dropped, planDind, withheldCapabilities } from './dind-plan.js';
import { attachDind, placementOf } from './dind-attach.js';
import { DAEMON_SOCKET, JOB_SOCKET } from '../background/run-gate.js';
import { type PrivilegeMemory, memoryDir, privilegeMemory, rememberedNote } from './privilege-memory.js';

export interface DindDependencies {
  readProcStatus: () => Promise<string>;
  socketGroup: () => number;
  /**
   * Runs once, on the first container created, before it starts (the data-root cache restores the volume here).
   * Returning false means the volume holds a partial restore: it is replaced by an empty one.
   */
  beforeStart?: (engine: EngineClient, containerId: string) => Promise<boolean>;
  /**
   * The data-root cache restored by the daemon's own init script instead (a root image through runc on a local
   * engine): prepared before the first container is created; none when the cache is off.
   */
  seed?: () => Promise<DaemonSeed | undefined>;
  /** The bundle to start the early run check with (run-check.ts); none: main runs the probe itself. */
  helperScript?: string;
}

/**
 * dind mode. `locate` gives the engine the phase located: the outer engine that runs the dind container (start
 * records it in state, so attach and post use that record, never DOCKER_HOST).
 */
export function dindDaemon(inputs: Inputs, platform: Platform, state: Recorder<DindState>, locate: () => EngineLocation, deps: DindDependencies): DaemonMode {
  const saved = (): DindState => {
    const s = state.value;
    if (!s) throw new Error('no session state: start() must run first');
    return s;
  };
  return {
    start: async () => startDind(inputs, platform, state, saved(), checkedEndpoint(locate()), deps),
    attach: async () => attachDind(inputs, state, saved(), platform),
  };
}

/**
 * The daemon's image on the engine: with the cache on, from the cache when it is a digest-pinned image the engine
 * lacks; else pulled (and post saves it for the next job). The reference to run it by.
 */
async function dindImage(engine: EngineClient, inputs: Inputs, state: Recorder<DindState>, platform: Platform): Promise<string> {
  const fromCache = inputs.cache ? await restoreDindImage(engine, inputs.dind.image, inputs.cache, platform) : {};
  const image = fromCache.ref ?? (await supplyDindImage(engine, inputs, platform));
  if (fromCache.record) state.update({ dindImage: { ...fromCache.record, image } });
  return image;
}

/** Creates the volume, the network, the daemon's files and the container, recording each in state as it exists. */
async function startDind(inputs: Inputs, platform: Platform, state: Recorder<DindState>, s: DindState, outer: DaemonEndpoint, deps: DindDependencies): Promise<void> {
  state.update({ outer: saveEndpoint(outer) });
  const engine = new EngineClient(outer);
  const labels = sessionLabels(s.session, platform.job);
  const name = objectName(s.session);
  // Independent of each other: the job directory, where our paths are on the engine's host, the image, our bounding set.
  // And (privileged: auto) which engine this is, for what it said about --privileged before (privilege-memory.ts).
  const memory = inputs.dind.privileged === 'auto' && !inputs.dind.runtime ? memoryDir(platform.env) : undefined;
  const [jobDir, toHostPath, image, procStatus, engineInfo] = await allSettled([
    socketDir(platform, state),
    hostPathTranslator(engine, platform.env),
    dindImage(engine, inputs, state, platform),
    outer.address.kind === 'unix' ? deps.readProcStatus() : Promise.resolve(''),
    memory ? engine.info().catch(() => undefined) : Promise.resolve(undefined),
  ]);
  if (toHostPath.container) state.update({ containerJob: toHostPath.container.name });
  // In a container job, 127.0.0.1 is the job container's own loopback: a TCP daemon joins the job's network.
  const jobNetwork = toHostPath.container?.networks.find((n) => !['bridge', 'host', 'none'].includes(n));
  // Port forwarding runs in the job container too: it reaches the daemon on the job's network.
  const network = inputs.dind.network ?? (inputs.dind.tcp || inputs.integration.forwardPorts ? jobNetwork : undefined);

  const [files] = await allSettled([
    writeDaemonFiles(inputs, jobDir, name),
    (async () => {
      await engine.createVolume(name, labels);
      state.update({ volume: name });
    })(),
    network ? ensureNetwork(engine, network, labels, state, platform.log) : undefined,
  ]);
  state.update({ hostJobDir: toHostPath(jobDir) });
  if (inputs.dind.rootless) await rootlessTlsDir(jobDir);
  // A rootless image's data root is its user's (docker:dind-rootless declares it as its one volume).
  const volumes = inputs.dind.rootless ? await engine.imageVolumes(image) : [];
  const planInput: DindSpecInput = {
    inputs: network === inputs.dind.network && image === inputs.dind.image ? inputs : { ...inputs, dind: { ...inputs.dind, network, image } },
    session: s.session,
    labels,
    hostJobDir: toHostPath(jobDir),
    extras: await dindExtras({ inputs, platform, jobDir, hostJobDir: toHostPath(jobDir), translate: toHostPath, state }),
    socketGroup: deps.socketGroup(),
    // The engine decides (the --privileged attempt comes first); our own bounding set only shapes the fallback, and
    // says nothing about a remote engine or, in a container job, about the host.
    withheld: toHostPath.container || outer.address.kind !== 'unix' ? undefined : withheldCapabilities(procStatus),
    ...(volumes.length === 1 ? { rootlessDataRoot: volumes[0] } : {}),
    ...files,
    remembered: memory && engineInfo ? privilegeMemory(memory, engineInfo) : undefined,
    gateable: true,
  };
  // The init script unpacks where it sees the job directory's FIFO as we do: a local engine, a root image on runc.
  const seeded = deps.seed && outer.address.kind === 'unix' && !inputs.dind.runtime && !inputs.dind.rootless;
  await startFirstAccepted(engine, planInput, state, platform.log, seeded ? { seed: await deps.seed!() } : { beforeStart: deps.beforeStart });
  await startHelpers(inputs, platform, state, engine, jobDir, network, deps.helperScript);
}

/**
 * While the daemon boots, what main would otherwise do after the job's checkout: the run check (a privileged daemon
 * needs none, see run-probe.ts) and the port forwarder. Both wait for the daemon themselves; main reads their results.
 */
async function startHelpers(inputs: Inputs, platform: Platform, state: Recorder<DindState>, engine: EngineClient, jobDir: string, network: string | undefined, script: string | undefined): Promise<void> {
  // One inspect now, so main's attach asks the engine nothing: the daemon's address and its published TLS port.
  const placement = placementOf(await engine.inspectContainer(state.value!.containerId!), network);
  state.update({ placement });
  const { address } = placement;
  if (!script) return; // main runs the check and starts the forwarder itself
  const s = state.value!;
  const daemon: DaemonEndpoint = { address: { kind: 'unix', path: join(jobDir, s.gated ? DAEMON_SOCKET : JOB_SOCKET) } };
  const check = s.privilege !== 'privileged';
  const gate = s.gated ? { jobDir, privilege: s.privilege, grant: s.privilegeGrant } : undefined;
  const timeoutMs = inputs.waitTimeoutMs;
  if (inputs.integration.forwardPorts && address) {
    // One process: the forwarder runs the check too, as soon as the daemon answers.
    launchForwarder({ daemon, target: address, jobDir, timeoutMs, script, runCheck: check, gate, guard: helperGuard(state.value), record: (forwarder, runCheck) => state.update({ forwarder, runCheck }) });
  } else if (check) {
    startRunCheck({ daemon, jobDir, timeoutMs, script, gate, guard: helperGuard(state.value), record: (runCheck) => state.update({ runCheck }) });
  }
}

/**
 * Like Promise.all, but it settles only when every promise has: nothing created is still in flight (and so
 * unrecorded in state) when a failure ends the phase. The first failure in order is the one thrown.
 */
async function allSettled<T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** The job's network: an existing one is used, a missing one created (and recorded as ours to remove). */
async function ensureNetwork(engine: EngineClient, network: string, labels: Record<string, string>, state: Recorder<DindState>, log: Logger): Promise<void> {
  const exists = await engine.networkExists(network);
  if (!exists) {
    await engine.createNetwork(network, labels);
    log.info(`Created network ${network}`);
  }
  state.update({ network: { name: network, created: !exists } });
}

/** The per-job directory, where the socket and certificates live (private to the runner's user). */
async function socketDir(platform: Platform, state: Recorder<DindState>): Promise<string> {
  const jobDir = await ensureJobDir(platform.job, state);
  // sun_path holds 108 bytes: a longer socket path makes dockerd listen where no client can connect.
  const socketPath = join(jobDir, 'docker.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `the daemon's socket would be ${socketPath} (${Buffer.byteLength(socketPath)} bytes), longer than unix sockets allow (${MAX_SOCKET_PATH_BYTES}); ` +
        'use a shorter temporary directory (RUNNER_TEMP, or --state-dir / SETUP_DIND_STATE_DIR for the CLI)',
    );
  }
  return jobDir;
}

/** daemon.json (registry settings), the certs.d directory main fills, and the TLS files of a TCP daemon. */
async function writeDaemonFiles(inputs: Inputs, jobDir: string, name: string): Promise<{ configFile: boolean; certsDir: boolean }> {
  const daemonConfig = withNetwork(daemonConfigFor(inputs), networkDaemonJson(inputs.network));
  if (daemonConfig) await writeFile(join(jobDir, 'daemon.json'), `${JSON.stringify(daemonConfig, null, 2)}\n`, { mode: 0o644 });
  const certsDir = inputs.registry.certs.length > 0;
  if (certsDir) await mkdir(join(jobDir, 'certs.d'), { mode: 0o755 });
  if (inputs.dind.tcp) {
    await writeTls(join(jobDir, 'tls'), generateTls({ serverNames: ['127.0.0.1', '::1', 'localhost', 'docker', name] }));
  }
  return { configFile: daemonConfig !== undefined, certsDir };
}

const withNetwork = (config: Record<string, unknown> | undefined, network: Record<string, unknown>) =>
  Object.keys(network).length ? { ...config, ...network } : config;

/** How the data-root cache fills the daemon's volume: a helper before the first start, or the init script (seed). */
export interface VolumeRestore {
  beforeStart?: DindDependencies['beforeStart'];
  seed?: DaemonSeed;
}

/** Tries the plans in order until the engine accepts one; says which privileges the daemon got when it matters. */
export async function startFirstAccepted(engine: EngineClient, planInput: DindSpecInput, state: Recorder<DindState>, log: Logger, volume: VolumeRestore): Promise<void> {
  const { dind } = planInput.inputs;
  const plans = planDind(planInput);
  const failures: string[] = [];
  let restore = volume.beforeStart;
  const { seed } = volume;
  for (const plan of plans) {
    let id: string | undefined;
    try {
      id = await engine.createContainer(seed ? { ...plan.spec, Env: [...(plan.spec.Env ?? []), ...seed.env] } : plan.spec);
      state.update({ containerId: id, containerName: plan.spec.name, privilege: plan.strategy, gated: plan.gated || undefined, startRequestedAt: Date.now() });
      if (restore) {
        const usable = await restore(engine, id);
        restore = undefined; // the volume outlives a refused start: later attempts reuse it
        if (!usable) id = await replaceVolume(engine, id, plan.spec, planInput.labels, state);
      }
      await engine.startContainer(id);
    } catch (e) {
      failures.push((e as Error).message);
      if (id) {
        await engine.removeContainer(id).catch(() => undefined);
        state.update({ containerId: undefined, privilege: undefined, gated: undefined });
      }
      continue;
    }
    learn(planInput.remembered, plans, plan.strategy, failures);
    reportGrant(plan.strategy, plans, failures, planInput, state, log);
    // The init script unpacks before dockerd; a container that ended instead (it could not see the FIFO) is replaced by a cold one.
    if (seed && !(await seed.started({ engine, id }))) await engine.startContainer(await replaceVolume(engine, id, plan.spec, planInput.labels, state));
    return;
  }
  await seed?.abandon();
  planInput.remembered?.forget();
  const remembered = planInput.remembered?.refusal;
  const tried = [...(remembered ? [`privileged: ${rememberedNote(remembered)}`] : []), ...plans.map((p, i) => `${p.strategy}: ${failures[i] ?? 'not tried'}`)].join('; ');
  throw new Error(
    `Could not start the dind container (${tried}). ` +
      (dind.runtime
        ? `Check that the engine has the runtime "${dind.runtime}" (docker info lists runtimes).`
        : 'Use a runner whose engine allows privileged containers, set runtime: sysbox-runc where Sysbox is installed, or use mode: socket.'),
  );
}

/** What the engine's answers teach the next job on it: --privileged refused (and something else accepted), or not. */
function learn(memory: PrivilegeMemory | undefined, plans: DindPlan[], accepted: PrivilegeStrategy, failures: string[]): void {
  if (!memory) return;
  if (accepted === 'privileged') memory.forget();
  else if (plans[0]?.strategy === 'privileged' && failures[0] !== undefined) memory.remember(failures[0]);
  // The remembered answer chose a plan the engine refused: it no longer describes this engine.
  else if (memory.refusal && failures.length) memory.forget();
}

/** Records exactly what the daemon's container was granted; warns when a fallback was taken or the grant is near root. */
function reportGrant(strategy: PrivilegeStrategy, plans: DindPlan[], failures: string[], planInput: DindSpecInput, state: Recorder<DindState>, log: Logger): void {
  const grant = describeGrant(strategy, planInput.inputs, planInput.withheld);
  state.update({ privilegeGrant: grant });
  const remembered = planInput.remembered?.refusal;
  const refused = [...(remembered ? ['privileged'] : []), ...plans.slice(0, failures.length).map((p) => p.strategy)];
  const why = refused.length
    ? `The engine refused ${refused.join(' and ')} (${failures.at(-1) ?? rememberedNote(remembered!)})`
    : '';
  if (strategy === 'explicit-capabilities') {
    log.warning(
      `${why}. THE DAEMON'S CONTAINER RUNS WITH EVERY CAPABILITY EXCEPT ${dropped(planInput.withheld).join(', ') || 'NONE'}: granted ${grant}. ` +
        `Set privileged: false to grant only ${NESTED_DOCKERD_CAPABILITIES.join(', ')} on top of Docker's defaults (the job fails clearly if that is not enough).`,
    );
  } else if (why) {
    log.warning(`${why}; the daemon's container runs with ${grant}.`);
  }
}

/** A partial restore: the container and its volume are replaced by a new container on an empty volume. */
async function replaceVolume(engine: EngineClient, id: string, spec: ContainerSpec, labels: Record<string, string>, state: Recorder<DindState>): Promise<string> {
  const volume = objectName(state.value!.session);
  await engine.removeContainer(id);
  await engine.removeVolume(volume);
  await engine.createVolume(volume, labels);
  const replaced = await engine.createContainer(spec);
  state.update({ containerId: replaced, startRequestedAt: Date.now() });
  return replaced;
}
