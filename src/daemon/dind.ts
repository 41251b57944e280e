// dind mode: the job's own dockerd in a container started through the runner's engine, its data on a labelled
// volume, reached through a unix socket in a per-job directory (TLS on 127.0.0.1 only when TCP is asked for).
import { mkdir, writeFile } from 'node:fs/promises';
import { ensureJobDir } from '../session/jobdir.js';
import { join } from 'node:path';
import { type DaemonEndpoint, type EngineLocation, checkedEndpoint, loadEndpoint, saveEndpoint } from '../endpoint/endpoint.js';
import { type ContainerSpec, type ContainerState, EngineClient, type Mount } from '../engine/client.js';
import { ROOTLESS_TLS_DIR, TUN_DEVICE, rootlessRemedy, rootlessTlsDir } from './rootless.js';
import type { DaemonInputs as Inputs } from './settings.js';
import type { Logger, Platform, Recorder } from '../platform/platform.js';
import { objectName, sessionLabels } from '../session/session.js';
import { generateTls, writeTls } from '../endpoint/tls.js';
import type { DaemonMode, DindState, JobDaemon, PrivilegeStrategy } from './daemon.js';
import { hostPathTranslator } from '../like-runner/host-paths.js';
import { IPTABLES_CHOICE } from './iptables.js';
import { apiVersionEnvironment } from './api-version.js';
import { supplyDindImage } from './image-supply.js';
import { restoreDindImage } from '../cache/dind-image.js';
import { type DaemonSeed, seedScript } from '../cache/data-root.js';
import { daemonConfigFor } from '../registry/apply.js';
import { networkDaemonJson } from '../network/settings.js';
import { MTU_SCRIPT } from '../like-runner/network.js';
import { type DindExtras, dindExtras } from '../like-runner/extras.js';
import { forwarderFollowing, launchForwarder, startPortForwarding } from '../background/forwarder.js';
import { startRunCheck } from '../background/run-check.js';

/** Inside the container: our per-job directory (the socket, the TLS files). */
export const RUN_DIR = '/run/setup-dind';
/** dockerd's TLS port inside the container (published on 127.0.0.1, or reached by name on a job network). */
export const TLS_PORT_NUMBER = 2376;
export const TLS_PORT = `${TLS_PORT_NUMBER}/tcp`;
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Runs before dockerd, in any image with a POSIX sh (docker:dind, Debian, Alpine). Without --privileged, the cgroup
 * mounts are read-only: remount them writable (cgroup v2 mount, or v1 bind mounts). On cgroup v2, move every process
 * out of the namespace's root cgroup so dockerd can enable controllers (as docker's own dind script does). A fixed
 * script: the daemon's arguments arrive as "$@", never inside the script text. The iptables backend is chosen as
 * docker's own entrypoint chooses it (iptables.ts).
 */
export const INIT_SCRIPT = `set -e
while read -r _ mp _ opts _; do
  case "$mp" in /sys/fs/cgroup|/sys/fs/cgroup/*)
    case ",$opts," in *,ro,*) mount -o remount,rw "$mp" 2>/dev/null || mount -o remount,bind,rw "$mp" 2>/dev/null || echo "setup-dind: cannot make $mp writable" >&2 ;; esac ;;
  esac
done < /proc/self/mounts
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  while read -r pid; do echo "$pid" > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :; done < /sys/fs/cgroup/cgroup.procs
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
fi
mount --make-rshared / 2>/dev/null || :
rm -f /var/run/docker.pid /run/docker.pid
${seedScript()}${IPTABLES_CHOICE}
${MTU_SCRIPT}exec "$@"`;

// Linux capabilities by number (capability.h), to turn our own bounding set into names the engine understands.
const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE',
  'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];

/**
 * Capabilities the host withholds, read from our own bounding set (`CapBnd` in /proc/self/status): a runner whose
 * engine refuses --privileged ("unable to apply caps") usually withholds the same ones from every process.
 */
export function withheldCapabilities(procStatus: string): string[] {
  const match = /^CapBnd:\s*([0-9a-f]+)/m.exec(procStatus);
  if (!match) return [];
  const bounding = BigInt(`0x${match[1]}`);
  return CAPABILITIES.filter((_, bit) => ((bounding >> BigInt(bit)) & 1n) === 0n);
}

/**
 * What a nested dockerd needs beyond Docker's default set (mounts, networking, cgroups, namespaces), for engines that
 * refuse "ALL" (a withheld capability, or one the engine does not know). SYS_RESOURCE is left out on purpose: it is
 * the one hosts most often withhold, and dockerd runs without it.
 */
export const NESTED_DOCKERD_CAPABILITIES = ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'IPC_LOCK', 'SYS_NICE', 'DAC_READ_SEARCH', 'NET_RAW', 'MKNOD', 'SETFCAP', 'SETPCAP'];

export interface DindPlan {
  strategy: PrivilegeStrategy;
  spec: ContainerSpec;
}

export interface DindSpecInput {
  inputs: Inputs;
  session: string;
  labels: Record<string, string>;
  /** The per-job directory as the outer engine sees it (a host path). */
  hostJobDir: string;
  socketGroup: number;
  /** Capabilities the host withholds; undefined when unknown (in a container our bounding set is not the engine's). */
  withheld: string[] | undefined;
  /** The job directory holds daemon.json (registry mirrors, daemon-config): pass it to dockerd. */
  configFile: boolean;
  /** The job directory's certs.d becomes /etc/docker/certs.d (registry certificates, written in main). */
  certsDir: boolean;
  /** Job paths at identical paths, the container's environment (MTU, proxies): like-runner/settings.ts. */
  extras?: DindExtras;
  /** rootless: where the image keeps its data root (its one declared volume), which gets the session's volume. */
  rootlessDataRoot?: string;
}

/** dockerd's flags: our socket (root images), the config file, the TLS listener. */
function daemonFlags(p: DindSpecInput): string[] {
  const { dind } = p.inputs;
  // A rootless daemon keeps its socket in its user's runtime directory (the runner reaches it over TLS); a root one
  // answers in the job directory and at the well-known path (containers that mount /var/run/docker.sock).
  const args = dind.rootless ? [] : [`--host=unix://${RUN_DIR}/docker.sock`, '--host=unix:///var/run/docker.sock', `--group=${p.socketGroup}`];
  if (p.configFile) args.push(`--config-file=${RUN_DIR}/daemon.json`);
  const tls = dind.rootless ? ROOTLESS_TLS_DIR : `${RUN_DIR}/tls/server`;
  if (dind.tcp) {
    args.push(`--host=tcp://0.0.0.0:${TLS_PORT_NUMBER}`, '--tlsverify', `--tlscacert=${tls}/ca.pem`, `--tlscert=${tls}/server-cert.pem`, `--tlskey=${tls}/server-key.pem`);
  }
  return args;
}

/**
 * A rootless image keeps its entrypoint and user (they start rootlesskit); rootlesskit forwards the TLS port out of
 * its network namespace and needs the tun device. The job directory is not its user's to read: only the files it
 * needs are mounted (the server's TLS files, daemon.json).
 */
function rootlessParts(p: DindSpecInput, name: string): Pick<ContainerSpec, 'Env'> & { mounts: Mount[]; devices: NonNullable<ContainerSpec['HostConfig']['Devices']> } {
  return {
    Env: [`DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=-p 0.0.0.0:${TLS_PORT_NUMBER}:${TLS_PORT_NUMBER}/tcp`, 'DOCKER_TLS_CERTDIR='],
    mounts: [
      { Type: 'bind', Source: `${p.hostJobDir}/rootless-tls`, Target: ROOTLESS_TLS_DIR, ReadOnly: true },
      ...(p.configFile ? [{ Type: 'bind' as const, Source: `${p.hostJobDir}/daemon.json`, Target: `${RUN_DIR}/daemon.json`, ReadOnly: true }] : []),
      ...(p.rootlessDataRoot ? [{ Type: 'volume' as const, Source: name, Target: p.rootlessDataRoot }] : []),
    ],
    devices: [{ PathOnHost: TUN_DEVICE, PathInContainer: TUN_DEVICE, CgroupPermissions: 'rwm' }],
  };
}

/** The container specs to try, in order: privileged first under `auto`, then the explicit capability set. */
export function planDind(p: DindSpecInput): DindPlan[] {
  const { dind } = p.inputs;
  const name = objectName(p.session);
  const rootless = dind.rootless ? rootlessParts(p, name) : undefined;
  const ownMounts: Mount[] = rootless
    ? rootless.mounts
    : [
        { Type: 'bind', Source: p.hostJobDir, Target: RUN_DIR },
        { Type: 'volume', Source: name, Target: '/var/lib/docker' },
        // A bind mount of the parent: directory names like "registry:5000" cannot go through -v syntax.
        ...(p.certsDir ? [{ Type: 'bind' as const, Source: `${p.hostJobDir}/certs.d`, Target: '/etc/docker/certs.d' }] : []),
      ];
  const base: ContainerSpec = {
    name,
    Image: dind.image,
    ...(rootless ? {} : { Entrypoint: ['sh', '-c', INIT_SCRIPT, 'setup-dind-init'] }),
    Cmd: ['dockerd', ...daemonFlags(p), ...dind.daemonArgs],
    Labels: p.labels,
    Env: [...apiVersionEnvironment(), ...(rootless?.Env ?? []), ...(p.extras?.env ?? [])],
    HostConfig: {
      // A rootless image's entrypoint starts its own init (docker-init) under rootlesskit.
      Init: !rootless,
      Mounts: [...ownMounts, ...(p.extras?.mounts ?? [])],
      ...(rootless ? { Devices: rootless.devices } : {}),
      ...(dind.tcp ? { PortBindings: { [TLS_PORT]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
      ...(dind.network ? { NetworkMode: dind.network } : {}),
    },
    ...(dind.tcp ? { ExposedPorts: { [TLS_PORT]: {} } } : {}),
    ...(dind.network ? { NetworkingConfig: { EndpointsConfig: { [dind.network]: { Aliases: ['docker'] } } } } : {}),
  };
  const privileged: DindPlan = { strategy: 'privileged', spec: { ...base, HostConfig: { ...base.HostConfig, Privileged: true } } };
  const unconfined = { SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable'], MaskedPaths: [], ReadonlyPaths: [] };
  // Our bounding set is only a hint (in a pod it is the pod's, not the engine's): never drop what dockerd needs.
  const drop = p.withheld?.filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));
  const explicit: DindPlan[] = drop
    ? [{ strategy: 'explicit-capabilities', spec: { ...base, HostConfig: { ...base.HostConfig, CapAdd: ['ALL'], CapDrop: drop, ...unconfined } } }]
    : [];
  const minimal: DindPlan = {
    strategy: 'minimal-capabilities',
    spec: { ...base, HostConfig: { ...base.HostConfig, CapAdd: NESTED_DOCKERD_CAPABILITIES, ...unconfined } },
  };
  if (dind.runtime) return [{ strategy: 'runtime', spec: { ...base, HostConfig: { ...base.HostConfig, Runtime: dind.runtime } } }];
  if (dind.privileged === 'true') return [privileged];
  // false forbids the near-root fallback too: only the set a nested dockerd needs.
  if (dind.privileged === 'false') return [minimal];
  // auto: the engine's answer decides. Our own bounding set is not the engine's on container-based runners (Actions
  // Runner Controller, GitLab's Kubernetes executor), so --privileged is always tried; a refusal costs one create.
  return [privileged, ...explicit, minimal];
}

const dropped = (withheld: string[] | undefined) => (withheld ?? []).filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));

/** Exactly what a plan grants the daemon's container, for the warning and the job summary. */
export function describeGrant(strategy: PrivilegeStrategy, inputs: Inputs, withheld: string[] | undefined): string {
  const unconfined = 'seccomp, AppArmor and SELinux labels off, /proc and /sys unmasked';
  switch (strategy) {
    case 'privileged':
      return '--privileged: every capability, every host device, no seccomp/AppArmor confinement (root on the runner host)';
    case 'explicit-capabilities':
      return `every capability except ${dropped(withheld).join(', ') || 'none'} (CapAdd ALL), ${unconfined}: nearly root on the runner host`;
    case 'minimal-capabilities':
      return `Docker's default capabilities plus ${NESTED_DOCKERD_CAPABILITIES.join(', ')}, ${unconfined}`;
    case 'runtime':
      return `the ${inputs.dind.runtime} runtime, no added capabilities`;
  }
}

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
  const [jobDir, toHostPath, image, procStatus] = await allSettled([
    socketDir(platform, state),
    hostPathTranslator(engine, platform.env),
    dindImage(engine, inputs, state, platform),
    outer.address.kind === 'unix' ? deps.readProcStatus() : Promise.resolve(''),
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
    extras: await dindExtras({ inputs, platform, jobDir, hostJobDir: toHostPath(jobDir), translate: toHostPath }),
    socketGroup: deps.socketGroup(),
    // The engine decides (the --privileged attempt comes first); our own bounding set only shapes the fallback, and
    // says nothing about a remote engine or, in a container job, about the host.
    withheld: toHostPath.container || outer.address.kind !== 'unix' ? undefined : withheldCapabilities(procStatus),
    ...(volumes.length === 1 ? { rootlessDataRoot: volumes[0] } : {}),
    ...files,
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
  const daemon: DaemonEndpoint = { address: { kind: 'unix', path: join(jobDir, 'docker.sock') } };
  const check = state.value?.privilege !== 'privileged';
  const timeoutMs = inputs.waitTimeoutMs;
  if (inputs.integration.forwardPorts && address) {
    // One process: the forwarder runs the check too, as soon as the daemon answers.
    launchForwarder({ daemon, target: address, jobDir, timeoutMs, script, runCheck: check, record: (forwarder, runCheck) => state.update({ forwarder, runCheck }) });
  } else if (check) {
    startRunCheck({ daemon, jobDir, timeoutMs, script, record: (runCheck) => state.update({ runCheck }) });
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
      state.update({ containerId: id, containerName: plan.spec.name, privilege: plan.strategy, startRequestedAt: Date.now() });
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
        state.update({ containerId: undefined, privilege: undefined });
      }
      continue;
    }
    reportGrant(plan.strategy, plans, failures, planInput, state, log);
    // The init script unpacks before dockerd; a container that ended instead (it could not see the FIFO) is replaced by a cold one.
    if (seed && !(await seed.started({ engine, id }))) await engine.startContainer(await replaceVolume(engine, id, plan.spec, planInput.labels, state));
    return;
  }
  await seed?.abandon();
  const tried = plans.map((p, i) => `${p.strategy}: ${failures[i] ?? 'not tried'}`).join('; ');
  throw new Error(
    `Could not start the dind container (${tried}). ` +
      (dind.runtime
        ? `Check that the engine has the runtime "${dind.runtime}" (docker info lists runtimes).`
        : 'Use a runner whose engine allows privileged containers, set runtime: sysbox-runc where Sysbox is installed, or use mode: socket.'),
  );
}

/** Records exactly what the daemon's container was granted; warns when a fallback was taken or the grant is near root. */
function reportGrant(strategy: PrivilegeStrategy, plans: DindPlan[], failures: string[], planInput: DindSpecInput, state: Recorder<DindState>, log: Logger): void {
  const grant = describeGrant(strategy, planInput.inputs, planInput.withheld);
  state.update({ privilegeGrant: grant });
  const why = failures.length
    ? `The engine refused ${plans.slice(0, failures.length).map((p) => p.strategy).join(' and ')} (${failures.at(-1)})`
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

/** The daemon started earlier in this job: its endpoint (recorded in state for post), outputs and health checks. */
async function attachDind(inputs: Inputs, state: Recorder<DindState>, s: DindState, platform: Platform): Promise<JobDaemon> {
  if (!s.outer || !s.containerId || !s.jobDir) throw new Error('the dind container was not started');
  const engine = new EngineClient(loadEndpoint(s.outer));
  const id = s.containerId;
  let endpoint: DaemonEndpoint = { address: { kind: 'unix', path: join(s.jobDir, 'docker.sock') } };
  const outputs: Record<string, string> = { 'container-id': id };
  if (inputs.dind.tcp) {
    const certPath = join(s.jobDir, 'tls', 'client');
    if (s.containerJob && s.network) {
      // The job container reaches the daemon by name on the job's network (the server certificate names it).
      endpoint = { address: { kind: 'tcp', host: objectName(s.session), port: TLS_PORT_NUMBER }, tlsCertPath: certPath };
    } else {
      const c = s.placement?.tlsHostPort ? undefined : await engine.inspectContainer(id);
      const port = s.placement?.tlsHostPort ?? placementOf(c, s.network?.name).tlsHostPort;
      // A container that died before its port was read (a rootless image whose rootlesskit fails at once): why.
      if (!port) throw new Error(`the dind daemon will not become ready: ${(await whyNotRunning(engine, id, inputs)) ?? `its container ${id.slice(0, 12)} has no published TLS port (state: ${c?.status})`}`);
      endpoint = { address: { kind: 'tcp', host: '127.0.0.1', port: Number(port) }, tlsCertPath: certPath };
    }
    outputs['cert-path'] = certPath;
  }
  state.update({ endpoint: saveEndpoint(endpoint) });
  const { address } = s.placement ?? placementOf(await engine.inspectContainer(id), s.network?.name);
  if (address) outputs['daemon-address'] = address;
  return {
    endpoint,
    outputs,
    facts: { Image: inputs.dind.image, Privileges: s.privilegeGrant ?? s.privilege ?? '', ...(address ? { 'Daemon address': address } : {}) },
    afterReady: inputs.integration.forwardPorts && address
      ? () => (s.forwarder?.ready
        ? forwarderFollowing({ ...s.forwarder, ready: s.forwarder.ready }, platform.log, platform.env, address)
        : startPortForwarding({ endpoint, target: address, jobDir: s.jobDir!, state, log: platform.log, env: platform.env }))
      : undefined,
    giveUp: () => whyNotRunning(engine, id, inputs),
    logTail: (lines) => engine.containerLogs(id, lines),
  };
}

/** Why the daemon's container cannot bring the daemon up any more (gone, restarted, exited), or undefined. */
async function whyNotRunning(engine: EngineClient, id: string, inputs: Inputs): Promise<string | undefined> {
  const c = await engine.inspectContainer(id);
  if (!c) return 'its container was removed';
  if (c.restartCount > 0) return `its container restarted ${c.restartCount} time(s)`;
  if (c.running) return undefined;
  const remedy = inputs.dind.rootless ? rootlessRemedy(await engine.containerLogs(id, 30).catch(() => '')) : undefined;
  return `its container exited with code ${c.exitCode}${c.error ? ` (${c.error})` : ''}${remedy ? `: ${remedy}` : ''}`;
}

/** Where a started container is: its IP address (on `network` when given, else its first) and its published TLS port. */
function placementOf(c: ContainerState | undefined, network: string | undefined): NonNullable<DindState['placement']> {
  return {
    address: c ? ((network ? c.addresses[network] : undefined) ?? Object.values(c.addresses)[0]) : undefined,
    tlsHostPort: c?.ports[TLS_PORT]?.find((b) => b.hostPort)?.hostPort,
  };
}
