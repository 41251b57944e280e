// The only module that imports dockerode: the engine calls the action makes, typed, with errors that say what failed.
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import Docker from 'dockerode';
import { type DaemonEndpoint, formatAddress } from '../endpoint.js';

export interface DaemonVersion {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface DaemonInfo {
  storageDriver: string;
  /** Registry mirrors as the daemon reports them (normalized with a trailing slash). */
  registryMirrors: string[];
  cgroupVersion: string;
  securityOptions: string[];
}

export interface ContainerState {
  id: string;
  name: string;
  running: boolean;
  restarting: boolean;
  status: string;
  exitCode: number;
  restartCount: number;
  error: string;
  /** Host port bindings: "2376/tcp" -> [{ hostIp, hostPort }]. */
  ports: Record<string, { hostIp: string; hostPort: string }[]>;
  mounts: { source: string; destination: string; type: string }[];
  networks: string[];
}

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

/** The subset of the Engine API's container create body that the action uses. */
export interface ContainerSpec {
  name: string;
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: {
    Privileged?: boolean;
    CapAdd?: string[];
    CapDrop?: string[];
    SecurityOpt?: string[];
    /** Empty arrays unmask /proc and /sys paths: the API form of `--security-opt systempaths=unconfined`. */
    MaskedPaths?: string[];
    ReadonlyPaths?: string[];
    Runtime?: string;
    Init?: boolean;
    Mounts?: Mount[];
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    CgroupnsMode?: 'private' | 'host';
    NetworkMode?: string;
  };
  NetworkingConfig?: { EndpointsConfig: Record<string, { Aliases?: string[] }> };
}

export interface LabelledObjects {
  containers: { id: string; name: string; state: string; labels: Record<string, string> }[];
  volumes: { name: string; labels: Record<string, string> }[];
  networks: { id: string; name: string; labels: Record<string, string> }[];
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** What the engine said, without dockerode's "(HTTP code 500) server error - " prefix. */
function engineMessage(e: unknown): { text: string; status?: number } {
  const err = e as { statusCode?: number; json?: { message?: string }; reason?: string; message?: string; code?: string };
  const text = err?.json?.message ?? err?.message ?? String(e);
  return { text: text.trim(), status: err?.statusCode };
}

/** Splits the engine's multiplexed log stream (8-byte frame headers) into plain text. */
export function demuxLogs(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  const looksMultiplexed = buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!looksMultiplexed) return buffer.toString('utf8');
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString('utf8');
}

// docker-modem fills its defaults from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, and a tcp:// DOCKER_HOST
// wins over the socketPath we give. After main exports the job's daemon, those point at it: post would clean up
// the wrong engine. So the client is built with them hidden, and the endpoint we pass is the only one used.
const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CLIENT_TIMEOUT', 'DOCKER_PATH_PREFIX'];

export function newDocker(options: Docker.DockerOptions): Docker {
  const saved = MODEM_ENV.map((name) => [name, process.env[name]] as const);
  for (const [name] of saved) delete process.env[name];
  try {
    return new Docker(options);
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

function dockerOptions(endpoint: DaemonEndpoint, timeoutMs?: number): Docker.DockerOptions {
  const base: Docker.DockerOptions = timeoutMs ? { timeout: timeoutMs } : {};
  const a = endpoint.address;
  if (a.kind === 'unix') return { ...base, socketPath: a.path };
  if (!endpoint.tlsCertPath) return { ...base, host: a.host, port: a.port, protocol: 'http' };
  const read = (f: string) => readFileSync(join(endpoint.tlsCertPath!, f));
  return { ...base, host: a.host, port: a.port, protocol: 'https', ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

/** Longest silence the action accepts from the engine within one call (more than a graceful container stop). */
export const ENGINE_IDLE_TIMEOUT_MS = 30_000;

export class EngineClient {
  private readonly docker: Docker;
  readonly description: string;

  constructor(readonly endpoint: DaemonEndpoint) {
    // An idle timeout on every call: an engine that accepts connections but never answers must not hang a step.
    // Streams (image export and load, archives) stay alive as long as data flows.
    this.docker = newDocker(dockerOptions(endpoint, ENGINE_IDLE_TIMEOUT_MS));
    this.description = formatAddress(endpoint.address);
  }

  /**
   * Runs one engine call; an error becomes an EngineError that says what failed where. `answers` maps status codes
   * that are an answer, not a failure (404: it does not exist), to the result they stand for.
   */
  private async call<T>(what: string, fn: () => Promise<T>, answers: Partial<Record<number, T>> = {}): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const { text, status } = engineMessage(e);
      if (status !== undefined && status in answers) return answers[status] as T;
      throw new EngineError(`${what} on ${this.description} failed: ${text}`, status);
    }
  }

  /**
   * One readiness probe: /_ping, then /version, each bounded by timeoutMs. A socket or port that accepts
   * connections is not a ready daemon; a daemon that answers both is.
   */
  async probe(timeoutMs: number): Promise<DaemonVersion> {
    const quick = newDocker(dockerOptions(this.endpoint, timeoutMs));
    const started = performance.now();
    try {
      const pong = await quick.ping();
      const text = Buffer.isBuffer(pong) ? pong.toString() : String(pong);
      if (text.trim() !== 'OK') throw new Error(`/_ping answered ${JSON.stringify(text.slice(0, 60))} instead of OK`);
      const v = await quick.version();
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    } catch (e) {
      // docker-modem's timeout destroys the request, which reads as "socket hang up": say what really happened.
      if (performance.now() - started >= timeoutMs * 0.95) throw new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s (the address accepts connections)`);
      throw e;
    }
  }

  version(): Promise<DaemonVersion> {
    return this.call('reading the daemon version', async () => {
      const v = await this.docker.version();
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    });
  }

  info(): Promise<DaemonInfo> {
    return this.call('reading the daemon info', async () => {
      const i = (await this.docker.info()) as { Driver?: string; CgroupVersion?: string; SecurityOptions?: string[]; RegistryConfig?: { Mirrors?: string[] } };
      return { storageDriver: i.Driver ?? '', registryMirrors: i.RegistryConfig?.Mirrors ?? [], cgroupVersion: i.CgroupVersion ?? '', securityOptions: i.SecurityOptions ?? [] };
    });
  }

  imageExists(ref: string): Promise<boolean> {
    return this.call(`inspecting image ${ref}`, async () => Boolean(await this.docker.getImage(ref).inspect()), { 404: false });
  }

  pullImage(ref: string): Promise<void> {
    return this.call(`pulling ${ref}`, async () => {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
          const failed = events?.find((ev) => ev.error);
          if (err) reject(err);
          else if (failed) reject(new Error(failed.error));
          else resolve();
        });
      });
    });
  }

  createVolume(name: string, labels: Record<string, string>): Promise<void> {
    return this.call(`creating volume ${name}`, async () => void (await this.docker.createVolume({ Name: name, Labels: labels })));
  }

  removeVolume(name: string): Promise<void> {
    return this.call(`removing volume ${name}`, () => this.docker.getVolume(name).remove());
  }

  async networkExists(name: string): Promise<boolean> {
    const found = await this.call('listing networks', () => this.docker.listNetworks({ filters: { name: [name] } }));
    return found.some((n) => n.Name === name);
  }

  createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.call(`creating network ${name}`, async () => void (await this.docker.createNetwork({ Name: name, Labels: labels, CheckDuplicate: true })));
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.call(`removing network ${idOrName}`, () => this.docker.getNetwork(idOrName).remove());
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.call(`creating container ${spec.name}`, async () => (await this.docker.createContainer(spec as Docker.ContainerCreateOptions)).id);
  }

  startContainer(id: string): Promise<void> {
    return this.call(`starting container ${id.slice(0, 12)}`, async () => void (await this.docker.getContainer(id).start()));
  }

  /** undefined when the container does not exist (any more). */
  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    const c = await this.call<Docker.ContainerInspectInfo | undefined>(`inspecting container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).inspect(), { 404: undefined });
    if (!c) return undefined;
    const ports: ContainerState['ports'] = {};
    for (const [port, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
      ports[port] = (bindings ?? []).map((b) => ({ hostIp: b.HostIp, hostPort: b.HostPort }));
    }
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      running: c.State.Running,
      restarting: c.State.Restarting,
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      restartCount: c.RestartCount,
      error: c.State.Error ?? '',
      ports,
      mounts: (c.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, type: m.Type })),
      networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    };
  }

  /** The last `tail` lines of a container's output (stdout and stderr interleaved). */
  containerLogs(id: string, tail = 50): Promise<string> {
    return this.call(`reading the logs of ${id.slice(0, 12)}`, async () => {
      const out = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
      return demuxLogs(Buffer.isBuffer(out) ? out : Buffer.from(String(out)));
    });
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`. A container that is already stopped is fine. */
  stopContainer(id: string, graceSeconds: number): Promise<void> {
    // 304: already stopped; 404: already gone.
    return this.call(`stopping container ${id.slice(0, 12)}`, async () => void (await this.docker.getContainer(id).stop({ t: graceSeconds })), { 304: undefined, 404: undefined });
  }

  removeContainer(id: string): Promise<void> {
    return this.call(`removing container ${id.slice(0, 12)}`, async () => void (await this.docker.getContainer(id).remove({ force: true, v: true })), { 404: undefined });
  }

  /** Images with their ids and tags (dangling ones included: they may be build cache worth keeping). */
  listImages(): Promise<{ id: string; tags: string[]; size: number }[]> {
    return this.call('listing images', async () =>
      (await this.docker.listImages()).map((i) => ({ id: i.Id, tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), size: i.Size })),
    );
  }

  /** Removes an image (absent is fine). */
  removeImage(ref: string): Promise<void> {
    return this.call(`removing image ${ref}`, async () => void (await this.docker.getImage(ref).remove({ force: true })), { 404: undefined });
  }

  /** `docker save` as a stream: one tar with every named image (tags or ids). */
  exportImages(names: string[]): Promise<Readable> {
    return this.call(`exporting ${names.length} image(s)`, async () => (await (this.docker as unknown as { getImages(o: { names: string[] }): Promise<unknown> }).getImages({ names })) as Readable);
  }

  /** `docker load` from a stream; resolves when the engine has read and loaded all of it. */
  loadImages(archive: Readable): Promise<void> {
    return this.call('loading images', async () => {
      const response = (await this.docker.loadImage(archive, { quiet: true })) as unknown as Readable;
      let text = '';
      for await (const chunk of response) text += chunk.toString();
      const failed = text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
        try {
          return (JSON.parse(l) as { error?: string }).error;
        } catch {
          return undefined;
        }
      }).find(Boolean);
      if (failed) throw new Error(failed);
    });
  }

  /** A tar stream of `path` inside a container (running or stopped), produced by the engine as root. */
  getArchive(id: string, path: string): Promise<Readable> {
    return this.call(`reading ${path} of ${id.slice(0, 12)}`, async () => (await this.docker.getContainer(id).getArchive({ path })) as unknown as Readable);
  }

  /** Extracts a tar stream into `path` inside a container (created, not necessarily started), as root. */
  putArchive(id: string, path: string, archive: Readable): Promise<void> {
    return this.call(`writing into ${path} of ${id.slice(0, 12)}`, async () => {
      const response = (await this.docker.getContainer(id).putArchive(archive, { path })) as unknown as Readable | undefined;
      if (response && typeof (response as Readable).resume === 'function') {
        for await (const _ of response) void _;
      }
    });
  }

  /** Containers, volumes and networks that carry `label` (key=value or key). */
  listLabelled(label: string): Promise<LabelledObjects> {
    return this.call('listing labelled objects', async () => {
      const filters = { label: [label] };
      const [containers, volumes, networks] = await Promise.all([
        this.docker.listContainers({ all: true, filters }),
        this.docker.listVolumes({ filters }),
        this.docker.listNetworks({ filters }),
      ]);
      return {
        containers: containers.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels ?? {} })),
        volumes: (volumes.Volumes ?? []).map((v) => ({ name: v.Name, labels: (v.Labels as Record<string, string> | null) ?? {} })),
        networks: networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} })),
      };
    });
  }

  /** Everything on the engine, by id or name: the leak check's before-and-after picture. */
  snapshot(): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    return this.call('listing the engine\'s objects', async () => {
      const [containers, volumes, networks] = await Promise.all([
        this.docker.listContainers({ all: true }),
        this.docker.listVolumes(),
        this.docker.listNetworks(),
      ]);
      return {
        containers: containers.map((c) => c.Id).sort(),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
        networks: networks.map((n) => n.Id).sort(),
      };
    });
  }
}
