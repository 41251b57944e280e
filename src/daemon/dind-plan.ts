// dind mode, the plan: the container specs to try for the job's dockerd (privileged first under `auto`, then the
// explicit capability set), its init script, its flags and mounts, and what each plan grants. No engine call here.
import type { ContainerSpec, Mount } from '../engine/client.js';
import { ROOTLESS_TLS_DIR, TUN_DEVICE } from './rootless.js';
import type { DaemonInputs as Inputs } from './settings.js';
import { objectName } from '../session/session.js';
import type { PrivilegeStrategy } from './daemon.js';
import { IPTABLES_CHOICE } from './iptables.js';
import { apiVersionEnvironment } from './api-version.js';
import { seedScript } from '../cache/data-root.js';
import { MTU_SCRIPT } from '../like-runner/network.js';
import { CLAIMS_INIT } from '../background/port-claims.js';
import { type DindExtras } from '../like-runner/extras.js';
import { DAEMON_SOCKET, JOB_SOCKET } from '../background/run-gate.js';
import type { PrivilegeMemory } from './privilege-memory.js';


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
${CLAIMS_INIT}${MTU_SCRIPT}exec "$@"`;

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
  /** dockerd listens on DAEMON_SOCKET, and the job's socket waits for the run check (run-gate.ts). */
  gated: boolean;
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
  /**
   * The job reaches the daemon by the job directory's socket only (no TLS port): a plan whose daemon must pass the run
   * check gates that socket until it has.
   */
  gateable?: boolean;
  /** privileged: auto: what this engine said about --privileged in an earlier job (privilege-memory.ts). */
  remembered?: PrivilegeMemory;
}

/** dockerd's flags: our socket (root images), the config file, the TLS listener. */
function daemonFlags(p: DindSpecInput, gated = false): string[] {
  const { dind } = p.inputs;
  // A rootless daemon keeps its socket in its user's runtime directory (the runner reaches it over TLS); a root one
  // answers in the job directory and at the well-known path (containers that mount /var/run/docker.sock).
  const args = dind.rootless ? [] : [`--host=unix://${RUN_DIR}/${gated ? DAEMON_SOCKET : JOB_SOCKET}`, '--host=unix:///var/run/docker.sock', `--group=${p.socketGroup}`];
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
      ...(p.extras?.sysctls ? { Sysctls: p.extras.sysctls } : {}),
    },
    ...(dind.tcp ? { ExposedPorts: { [TLS_PORT]: {} } } : {}),
    ...(dind.network ? { NetworkingConfig: { EndpointsConfig: { [dind.network]: { Aliases: ['docker'] } } } } : {}),
  };
  // Every plan but --privileged must pass the run check: where the job's socket is all it gets, that socket is gated.
  const gated = p.gateable === true && !dind.rootless && !dind.tcp;
  const checked = gated ? { ...base, Cmd: ['dockerd', ...daemonFlags(p, true), ...dind.daemonArgs] } : base;
  const privileged: DindPlan = { strategy: 'privileged', gated: false, spec: { ...base, HostConfig: { ...base.HostConfig, Privileged: true } } };
  const unconfined = { SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable'], MaskedPaths: [], ReadonlyPaths: [] };
  // Our bounding set is only a hint (in a pod it is the pod's, not the engine's): never drop what dockerd needs.
  const drop = p.withheld?.filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));
  const explicit: DindPlan[] = drop
    ? [{ strategy: 'explicit-capabilities', gated, spec: { ...checked, HostConfig: { ...base.HostConfig, CapAdd: ['ALL'], CapDrop: drop, ...unconfined } } }]
    : [];
  const minimal: DindPlan = {
    strategy: 'minimal-capabilities',
    gated,
    spec: { ...checked, HostConfig: { ...base.HostConfig, CapAdd: NESTED_DOCKERD_CAPABILITIES, ...unconfined } },
  };
  if (dind.runtime) return [{ strategy: 'runtime', gated, spec: { ...checked, HostConfig: { ...base.HostConfig, Runtime: dind.runtime } } }];
  if (dind.privileged === 'true') return [privileged];
  // false forbids the near-root fallback too: only the set a nested dockerd needs.
  if (dind.privileged === 'false') return [minimal];
  // auto: the engine's answer decides. Our own bounding set is not the engine's on container-based runners (Actions
  // Runner Controller, GitLab's Kubernetes executor), so --privileged is tried unless this engine refused it in an
  // earlier job; a refusal costs one create/start/remove cycle.
  return p.remembered?.refusal ? [...explicit, minimal] : [privileged, ...explicit, minimal];
}

export const dropped = (withheld: string[] | undefined) => (withheld ?? []).filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));

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
