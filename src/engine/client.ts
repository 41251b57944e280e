// The only module that talks to the engine: the Engine API calls the action makes, typed, with errors that say what
// failed. A thin client over node:http on the unix socket, TCP or TLS: no SDK, nothing loaded that a phase does not
// use, and no environment read (DOCKER_HOST and friends point at the job's daemon after main; the endpoint given is
// the only one used).
import { readFileSync } from 'node:fs';
import { Agent, type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type DaemonEndpoint, formatAddress } from '../endpoint/endpoint.js';

export interface DaemonVersion {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface DaemonInfo {
  /** The graph driver (classic image store), or the containerd snapshotter (containerd image store), e.g. overlayfs. */
  storageDriver: string;
  /** containerd: the containerd image store (Docker 29's default for a fresh data root; its snapshotter is storageDriver). */
  imageStore: 'classic' | 'containerd';
  /** Registry mirrors as the daemon reports them (normalized with a trailing slash). */
  registryMirrors: string[];
  cgroupVersion: string;
  securityOptions: string[];
  /** What tells one engine from another, and whether it changed: its ID (kept in its data root) and its setup. */
  engine: { id: string; serverVersion: string; kernelVersion: string; operatingSystem: string; cgroupDriver: string; defaultRuntime: string };
}

export interface ContainerState {
  id: string;
  name: string;
  /** The image's id (sha256:…). */
  image: string;
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
  /** IPv4 address on each network the container is attached to. */
  addresses: Record<string, string>;
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
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    /** Namespaced kernel settings of the container (net.* with a network namespace of its own). */
    Sysctls?: Record<string, string>;
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

/** An answer of the engine outside 2xx: its status and what it said (the JSON body's message). */
class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
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

/** Longest silence the action accepts from the engine within one call (more than a graceful container stop). */
export const ENGINE_IDLE_TIMEOUT_MS = 30_000;

type Query = Record<string, string | number | boolean | string[] | undefined>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  /** A streamed body (a tar). */
  body?: Readable;
  contentType?: string;
  /** Idle timeout (no bytes either way); ENGINE_IDLE_TIMEOUT_MS by default. */
  timeoutMs?: number;
  agent?: Agent;
  /** Extra request headers (X-Registry-Auth). */
  headers?: Record<string, string>;
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** What the engine said in an error answer: {"message": "..."} as a rule, else the text or the status line. */
function errorText(res: IncomingMessage, body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const json = JSON.parse(text) as { message?: string };
    if (typeof json?.message === 'string') return json.message.trim();
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 500) || `HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
}

/** Reads the whole answer of a JSON call. */
async function json<T>(res: IncomingMessage): Promise<T> {
  const text = (await readAll(res)).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the engine's answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** Progress streams (pull, load) report failures as {"error": ...} lines inside a 200 answer. */
async function streamedError(res: IncomingMessage): Promise<string | undefined> {
  const text = (await readAll(res)).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (event.error) return event.error;
    } catch {
      // a partial or non-JSON line: not an error report
    }
  }
  return undefined;
}

interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  RestartCount: number;
  State: { Running: boolean; Restarting: boolean; Status: string; ExitCode: number; Error?: string };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null>; Networks?: Record<string, unknown> };
  Mounts?: { Source: string; Destination: string; Type: string }[];
}

interface RawInfo {
  ServerVersion?: string;
  OSType?: string;
  Architecture?: string;
  Driver?: string;
  CgroupVersion?: string;
  SecurityOptions?: string[];
  RegistryConfig?: { Mirrors?: string[] };
  DriverStatus?: [string, string][] | null;
  ID?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  CgroupDriver?: string;
  DefaultRuntime?: string;
}

const toInfo = (i: RawInfo): DaemonInfo => ({
  storageDriver: i.Driver ?? '',
  imageStore: (i.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v === 'io.containerd.snapshotter.v1') ? 'containerd' : 'classic',
  registryMirrors: i.RegistryConfig?.Mirrors ?? [],
  cgroupVersion: i.CgroupVersion ?? '',
  securityOptions: i.SecurityOptions ?? [],
  engine: {
    id: i.ID ?? '', serverVersion: i.ServerVersion ?? '', kernelVersion: i.KernelVersion ?? '', operatingSystem: i.OperatingSystem ?? '',
    cgroupDriver: i.CgroupDriver ?? '', defaultRuntime: i.DefaultRuntime ?? '',
  },
});

type ListedContainer = { Id: string; Names?: string[]; State: string; Labels?: Record<string, string> | null };
type ListedVolume = { Name: string; Labels?: Record<string, string> | null };
type ListedNetwork = { Id: string; Name: string; Labels?: Record<string, string> | null };

/**
 * Seconds dockerd gets to stop its own containers and exit after SIGTERM before it is killed (data-root cache save).
 * dockerd 23 and later wait up to 5 s for clients with open requests (a step's `docker events &`) before they exit.
 */
export const STOP_GRACE_SECONDS = 10;

export class EngineClient {
  readonly description: string;
  private readonly tls?: { ca: Buffer; cert: Buffer; key: Buffer };
  private agentInstance?: Agent;

  constructor(readonly endpoint: DaemonEndpoint) {
    this.description = formatAddress(endpoint.address);
    if (endpoint.tlsCertPath) {
      const read = (f: string) => readFileSync(join(endpoint.tlsCertPath!, f));
      this.tls = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
    }
  }

  /** Connections are kept for the next call (a TLS handshake costs more than the call); idle ones do not hold the process. */
  private newAgent(options: { keepAlive: boolean; maxSockets?: number }): Agent {
    return this.tls ? new HttpsAgent({ ...options, ...this.tls }) : new Agent(options);
  }

  private get agent(): Agent {
    this.agentInstance ??= this.newAgent({ keepAlive: true });
    return this.agentInstance;
  }

  /** Ends every connection of this client, a request in flight included (it fails). */
  close(): void {
    this.agentInstance?.destroy();
  }

  /**
   * One HTTP request; resolves with the answer once its head has arrived and its status is 2xx, else rejects with
   * an HttpStatusError carrying what the engine said. An idle timeout covers the whole exchange, streams included:
   * they stay alive as long as data flows.
   */
  private request(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const a = this.endpoint.address;
    const timeoutMs = options.timeoutMs ?? ENGINE_IDLE_TIMEOUT_MS;
    const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const headers: Record<string, string | number> = { ...options.headers };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    else if (options.body) headers['content-type'] = options.contentType ?? 'application/x-tar';
    const target = a.kind === 'unix' ? { socketPath: a.path } : { host: a.host, port: a.port };
    const send = this.tls ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        // A body the engine refused or could not take is not read further (its producer, zstd, is told so).
        options.body?.unpipe(req);
        options.body?.destroy();
        reject(e);
      };
      const req: ClientRequest = send({ ...target, method, path: `${path}${queryString(options.query ?? {})}`, headers, agent: options.agent ?? this.agent });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s`)));
      req.on('error', fail);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          settled = true;
          resolve(res);
          return;
        }
        readAll(res).then(
          (body) => fail(new HttpStatusError(status, errorText(res, body))),
          (e: Error) => fail(e),
        );
      });
      if (options.body) {
        options.body.on('error', (e) => req.destroy(e));
        options.body.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /** A request whose answer is JSON. */
  private async getJson<T>(path: string, query?: Query): Promise<T> {
    return json<T>(await this.request('GET', path, { query }));
  }

  /** A request whose answer carries nothing the action needs: read it to the end. */
  private async send(method: string, path: string, options: RequestOptions = {}): Promise<void> {
    await readAll(await this.request(method, path, options));
  }

  /**
   * Runs one engine call; an error becomes an EngineError that says what failed where. `answers` maps status codes
   * that are an answer, not a failure (404: it does not exist), to the result they stand for.
   */
  private async call<T>(what: string, fn: () => Promise<T>, answers: Partial<Record<number, T>> = {}): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const status = e instanceof HttpStatusError ? e.statusCode : undefined;
      if (status !== undefined && status in answers) return answers[status] as T;
      throw new EngineError(`${what} on ${this.description} failed: ${((e as Error)?.message ?? String(e)).trim()}`, status);
    }
  }

  /**
   * One readiness probe, one call: /info, bounded by timeoutMs, on a connection of its own. A socket or port that
   * accepts connections is not a ready daemon; one that answers /info with a server version is, and the answer
   * holds everything main reports (version, API version from the header, storage driver).
   */
  async probe(timeoutMs: number): Promise<DaemonVersion & { info: DaemonInfo }> {
    const agent = this.newAgent({ keepAlive: false });
    const started = performance.now();
    const timer = setTimeout(() => agent.destroy(), timeoutMs);
    try {
      let res: IncomingMessage;
      try {
        res = await this.request('GET', '/info', { agent, timeoutMs });
      } catch (e) {
        if (e instanceof HttpStatusError) throw new Error(`/info answered HTTP ${e.statusCode}: ${e.message}`);
        throw e;
      }
      const apiVersion = String(res.headers['api-version'] ?? '');
      const info = await json<RawInfo>(res);
      if (typeof info?.ServerVersion !== 'string') throw new Error('/info answered without a server version: not a Docker daemon');
      return { version: info.ServerVersion, apiVersion, os: info.OSType ?? '', arch: info.Architecture ?? '', info: toInfo(info) };
    } catch (e) {
      // Our timeout destroys the connection, which reads as "socket hang up": say what really happened.
      if (performance.now() - started >= timeoutMs * 0.95) throw new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s (the address accepts connections)`);
      throw e;
    } finally {
      clearTimeout(timer);
      agent.destroy();
    }
  }

  version(): Promise<DaemonVersion> {
    return this.call('reading the daemon version', async () => {
      const v = await this.getJson<{ Version: string; ApiVersion: string; Os: string; Arch: string }>('/version');
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    });
  }

  info(): Promise<DaemonInfo> {
    return this.call('reading the daemon info', async () => toInfo(await this.getJson<RawInfo>('/info')));
  }

  imageExists(ref: string): Promise<boolean> {
    return this.call(`inspecting image ${ref}`, async () => (await this.send('GET', `/images/${encodeURIComponent(ref)}/json`), true), { 404: false });
  }

  /** The volumes an image declares (its VOLUME lines), as container paths. */
  imageVolumes(ref: string): Promise<string[]> {
    return this.call(`inspecting image ${ref}`, async () => Object.keys((await this.getJson<{ Config?: { Volumes?: Record<string, unknown> | null } }>(`/images/${encodeURIComponent(ref)}/json`)).Config?.Volumes ?? {}));
  }

  /** Pulls `ref`; `auth` goes to the registry as the engine's X-Registry-Auth (never logged). */
  pullImage(ref: string, auth?: { username?: string; password?: string; identitytoken?: string; serveraddress: string }): Promise<void> {
    return this.call(`pulling ${ref}`, async () => {
      // A reference without a tag pulls :latest (the CLI's rule); a digest is passed whole.
      const slash = ref.lastIndexOf('/');
      const hasTag = ref.includes('@') || ref.slice(slash + 1).includes(':');
      const query = hasTag ? { fromImage: ref } : { fromImage: ref, tag: 'latest' };
      // X-Registry-Auth: the credentials as JSON in URL-safe base64 WITH padding, as the docker CLI sends them (Go's
      // base64.URLEncoding; dockerd 20.10 silently pulls anonymously when the padding is missing).
      const headers = auth ? { 'X-Registry-Auth': Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_') } : undefined;
      const failed = await streamedError(await this.request('POST', '/images/create', { query, headers }));
      if (failed) throw new Error(failed);
    });
  }

  createVolume(name: string, labels: Record<string, string>): Promise<void> {
    return this.call(`creating volume ${name}`, () => this.send('POST', '/volumes/create', { json: { Name: name, Labels: labels } }));
  }

  removeVolume(name: string): Promise<void> {
    return this.call(`removing volume ${name}`, () => this.send('DELETE', `/volumes/${encodeURIComponent(name)}`));
  }

  async networkExists(name: string): Promise<boolean> {
    const found = await this.call('listing networks', () => this.getJson<ListedNetwork[]>('/networks', { filters: JSON.stringify({ name: [name] }) }));
    return found.some((n) => n.Name === name);
  }

  createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.call(`creating network ${name}`, () => this.send('POST', '/networks/create', { json: { Name: name, Labels: labels, CheckDuplicate: true } }));
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.call(`removing network ${idOrName}`, () => this.send('DELETE', `/networks/${encodeURIComponent(idOrName)}`));
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.call(`creating container ${spec.name}`, async () => {
      const { name, ...body } = spec;
      return (await json<{ Id: string }>(await this.request('POST', '/containers/create', { query: { name }, json: body }))).Id;
    });
  }

  startContainer(id: string): Promise<void> {
    return this.call(`starting container ${id.slice(0, 12)}`, () => this.send('POST', `/containers/${encodeURIComponent(id)}/start`));
  }

  /** undefined when the container does not exist (any more). */
  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    const c = await this.call<ContainerInspect | undefined>(`inspecting container ${id.slice(0, 12)}`, () => this.getJson(`/containers/${encodeURIComponent(id)}/json`), { 404: undefined });
    if (!c) return undefined;
    const ports: ContainerState['ports'] = {};
    for (const [port, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
      ports[port] = (bindings ?? []).map((b) => ({ hostIp: b.HostIp, hostPort: b.HostPort }));
    }
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Image,
      running: c.State.Running,
      restarting: c.State.Restarting,
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      restartCount: c.RestartCount,
      error: c.State.Error ?? '',
      ports,
      mounts: (c.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, type: m.Type })),
      networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
      addresses: Object.fromEntries(Object.entries(c.NetworkSettings?.Networks ?? {}).map(([n, v]) => [n, (v as { IPAddress?: string }).IPAddress ?? '']).filter(([, ip]) => ip)),
    };
  }

  /** The last `tail` lines of a container's output (stdout and stderr interleaved). */
  containerLogs(id: string, tail = 50): Promise<string> {
    return this.call(`reading the logs of ${id.slice(0, 12)}`, async () =>
      demuxLogs(await readAll(await this.request('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: { stdout: true, stderr: true, tail, follow: false } }))),
    );
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`. A container that is already stopped is fine. */
  stopContainer(id: string, graceSeconds: number): Promise<void> {
    // 304: already stopped; 404: already gone. The engine answers only once the container is down.
    return this.call(
      `stopping container ${id.slice(0, 12)}`,
      () => this.send('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: graceSeconds }, timeoutMs: ENGINE_IDLE_TIMEOUT_MS + graceSeconds * 1000 }),
      { 304: undefined, 404: undefined },
    );
  }

  /** Removes a container at once (a running one is killed), with its anonymous volumes. */
  removeContainer(id: string): Promise<void> {
    return this.call(`removing container ${id.slice(0, 12)}`, () => this.send('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: true, v: true } }), { 404: undefined });
  }

  /** Ids of the running containers. */
  runningContainers(): Promise<string[]> {
    return this.call('listing containers', async () => (await this.getJson<ListedContainer[]>('/containers/json')).map((c) => c.Id));
  }

  /**
   * Follows container start/die/destroy events: resolves once the daemon streams them (so nothing that happens
   * later is missed), then yields them until `signal` aborts or the daemon closes the stream. No idle timeout: a
   * quiet daemon is not a dead one.
   */
  async containerEvents(signal: AbortSignal): Promise<AsyncIterable<{ id: string; action: string }>> {
    const filters = JSON.stringify({ type: ['container'], event: ['start', 'die', 'destroy'] });
    // A day without a byte: the idle timeout of a stream that may rightly stay silent for the whole job.
    const stream: Readable = await this.call('following events', () => this.request('GET', '/events', { query: { filters }, timeoutMs: 86_400_000 }));
    return (async function* () {
      const stop = () => stream.destroy();
      signal.addEventListener('abort', stop, { once: true });
      let buffered = '';
      try {
        for await (const chunk of stream) {
          buffered += chunk.toString();
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const e = JSON.parse(line) as { Action?: string; status?: string; id?: string; Actor?: { ID?: string } };
            const id = e.Actor?.ID ?? e.id;
            if (id) yield { id, action: e.Action ?? e.status ?? '' };
          }
        }
      } catch (e) {
        if (!signal.aborted) throw e;
      } finally {
        signal.removeEventListener('abort', stop);
        stream.destroy();
      }
    })();
  }

  /** Waits until the container exits; its exit code. No idle timeout: the answer comes only at the exit. */
  waitContainer(id: string): Promise<number> {
    return this.call(`waiting for container ${id.slice(0, 12)}`, async () =>
      (await json<{ StatusCode: number }>(await this.request('POST', `/containers/${encodeURIComponent(id)}/wait`, { timeoutMs: 86_400_000 }))).StatusCode,
    );
  }

  /** Every container's id (running or not). */
  listContainerIds(): Promise<string[]> {
    return this.call('listing containers', async () => (await this.getJson<ListedContainer[]>('/containers/json', { all: true })).map((c) => c.Id));
  }

  /** Removes unused networks, dangling images, and build cache beyond `keepBytes` (what a snapshot need not carry). */
  /**
   * Unused networks, dangling images, and build cache beyond keepBytes, the least recently used first (all of it at
   * 0). Resolves to the build cache's bytes it removed.
   */
  pruneUnused(keepBytes: number): Promise<number> {
    return this.call('pruning unused networks, dangling images and build cache', async () => {
      await this.send('POST', '/networks/prune');
      await this.send('POST', '/images/prune', { query: { filters: JSON.stringify({ dangling: ['true'] }) } });
      // keep-storage until API 1.47, reserved-space from 1.48: a daemon ignores the one it does not know. all: the
      // limit counts every record, not only the dangling ones.
      const keep = keepBytes > 0 ? { 'keep-storage': keepBytes, 'reserved-space': keepBytes } : {};
      const answer = await json<{ SpaceReclaimed?: number }>(await this.request('POST', '/build/prune', { query: { all: true, ...keep } }));
      return answer.SpaceReclaimed ?? 0;
    });
  }

  /** Images with their ids and tags (dangling ones included: they may be build cache worth keeping). */
  listImages(): Promise<{ id: string; tags: string[]; size: number }[]> {
    return this.call('listing images', async () =>
      (await this.getJson<{ Id: string; RepoTags?: string[] | null; Size: number }[]>('/images/json')).map((i) => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        size: i.Size,
      })),
    );
  }

  /** Gives `ref` the name `repo:tag` too. */
  tagImage(ref: string, repo: string, tag: string): Promise<void> {
    return this.call(`tagging ${ref}`, () => this.send('POST', `/images/${encodeURIComponent(ref)}/tag`, { query: { repo, tag } }));
  }

  /** Removes a name of an image; the image stays while another name or a container uses it (never forced). */
  untagImage(name: string): Promise<void> {
    return this.call(`untagging ${name}`, () => this.send('DELETE', `/images/${encodeURIComponent(name)}`, { query: { noprune: true } }), { 404: undefined });
  }

  /** Removes an image (absent is fine). */
  removeImage(ref: string): Promise<void> {
    return this.call(`removing image ${ref}`, () => this.send('DELETE', `/images/${encodeURIComponent(ref)}`, { query: { force: true } }), { 404: undefined });
  }

  /** `docker save` as a stream: one tar with every named image (tags or ids). */
  /**
   * `docker save`. With `platform` (API 1.48 and later) only that platform of a multi-platform image: on the
   * containerd store an image pulled for one platform lacks the other platforms' blobs, and a save of all fails.
   */
  exportImages(names: string[], platform?: { os: string; architecture: string }): Promise<Readable> {
    const query = { names, ...(platform ? { platform: JSON.stringify(platform) } : {}) };
    return this.call(`exporting ${names.length} image(s)`, () => this.request('GET', '/images/get', { query }));
  }

  /** `docker load` from a stream; resolves when the engine has read and loaded all of it. */
  loadImages(archive: Readable): Promise<void> {
    return this.call('loading images', async () => {
      const failed = await streamedError(await this.request('POST', '/images/load', { query: { quiet: true }, body: archive }));
      if (failed) throw new Error(failed);
    });
  }

  /** A tar stream of `path` inside a container (running or stopped), produced by the engine as root. */
  getArchive(id: string, path: string): Promise<Readable> {
    return this.call(`reading ${path} of ${id.slice(0, 12)}`, () => this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } }));
  }

  /** A tar stream of `path` inside a container, or undefined when the container has no such path. */
  archiveIfExists(id: string, path: string): Promise<Readable | undefined> {
    return this.call(`reading ${path} of ${id.slice(0, 12)}`, () => this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } }), { 404: undefined });
  }

  /** Extracts a tar stream into `path` inside a container (created, not necessarily started), as root. */
  putArchive(id: string, path: string, archive: Readable): Promise<void> {
    return this.call(`writing into ${path} of ${id.slice(0, 12)}`, () => this.send('PUT', `/containers/${encodeURIComponent(id)}/archive`, { query: { path }, body: archive }));
  }

  private listAll(filters?: Record<string, string[]>): Promise<[ListedContainer[], { Volumes?: ListedVolume[] | null }, ListedNetwork[]]> {
    const f = filters ? JSON.stringify(filters) : undefined;
    return Promise.all([
      this.getJson<ListedContainer[]>('/containers/json', { all: true, filters: f }),
      this.getJson<{ Volumes?: ListedVolume[] | null }>('/volumes', { filters: f }),
      this.getJson<ListedNetwork[]>('/networks', { filters: f }),
    ]);
  }

  /** Containers, volumes and networks that carry `label` (key=value or key). */
  listLabelled(label: string): Promise<LabelledObjects> {
    return this.call('listing labelled objects', async () => {
      const [containers, volumes, networks] = await this.listAll({ label: [label] });
      return {
        containers: containers.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels ?? {} })),
        volumes: (volumes.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} })),
        networks: networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} })),
      };
    });
  }

  /** Everything on the engine, by id or name: the leak check's before-and-after picture. */
  snapshot(): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    return this.call("listing the engine's objects", async () => {
      const [containers, volumes, networks] = await this.listAll();
      return {
        containers: containers.map((c) => c.Id).sort(),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
        networks: networks.map((n) => n.Id).sort(),
      };
    });
  }
}
