// Published ports of the job's daemon at 127.0.0.1 on the job's side, as with the runner's engine.
//
// The inner daemon publishes `-p 8080:80` inside its own container's network namespace. A small forwarder process
// (this action's own bundle under the same node, started by main, stopped by post) follows the inner daemon's
// container events; for every TCP port a running container publishes on all addresses it listens on 127.0.0.1 (and
// ::1) in the job's network namespace and relays each connection to the daemon container's address, where the
// inner daemon's own NAT takes it to the container. It runs wherever the job's steps run (the runner host, or the
// job container in a container job, whose network the daemon then joins), so it needs no shared network namespace
// with the engine, changes no firewall rule and leaves nothing behind when it stops.
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DaemonEndpoint, type SavedEndpoint, loadEndpoint, saveEndpoint } from '../endpoint/endpoint.js';
import { EngineClient, type ContainerState } from '../engine/client.js';
import type { Logger, Recorder } from '../platform/platform.js';
import { FORWARDER_FLAG, alive } from './helper-process.js';
import { RUN_CHECK_RESULT, type RunCheckRecord, checkRuns, daemonArchBy, gateFor, spawnHelper } from './run-check.js';
import type { GateConfig } from './run-gate.js';
import { type HelperGuard, handPortsTo, watchLifeline } from './isolation.js';
import { selfHolder } from './port-range.js';
import { claimRefusal, serveClaims } from './port-claims.js';

/** dind: the port forwarder process (background/forwarder.ts), stopped by post. */
export interface ForwarderRecord {
  pid: number;
  log: string;
  /** The bundle the forwarder runs. */
  script: string;
  /** Started by pre: the file it creates once it follows the daemon. */
  ready?: string;
}

/** The argument that makes an entry point run the forwarder instead of its phase. */
export { FORWARDER_FLAG };

export interface ForwarderConfig {
  /** The job's daemon (its events and containers). */
  daemon: SavedEndpoint;
  /** The daemon container's address, reachable from where the forwarder runs. */
  target: string;
  /** Where to listen (loopback addresses of the job's side). */
  listen: string[];
  /**
   * Started by pre, before the daemon answers: wait for it until this epoch ms, and create `readyFile` once the
   * forwarder follows its events (main waits for that file instead of a message).
   */
  deadline?: number;
  readyFile?: string;
  /** Also the run check (run-check.ts): its verdict goes to this file, while the forwarder follows the daemon. */
  runCheckResult?: string;
  /** The daemon's container and the job's port block: the forwarder holds the block and ends with the container. */
  guard?: HelperGuard;
  /** With the run check: the job's socket waits for its verdict (run-gate.ts). */
  gate?: GateConfig;
}


/** The TCP ports a container publishes on every address (the ones the runner's engine would answer at 127.0.0.1). */
export function publishedPorts(ports: ContainerState['ports']): { forward: number[]; loopbackOnly: number[] } {
  const forward = new Set<number>();
  const loopbackOnly = new Set<number>();
  for (const [spec, bindings] of Object.entries(ports)) {
    if (!spec.endsWith('/tcp')) continue;
    for (const b of bindings) {
      const port = Number(b.hostPort);
      if (!Number.isInteger(port) || port <= 0) continue;
      if (['', '0.0.0.0', '::'].includes(b.hostIp)) forward.add(port);
      else if (b.hostIp === '127.0.0.1' || b.hostIp === '::1') loopbackOnly.add(port);
    }
  }
  for (const p of forward) loopbackOnly.delete(p);
  return { forward: [...forward].sort((a, b) => a - b), loopbackOnly: [...loopbackOnly].sort((a, b) => a - b) };
}

type Log = (line: string) => void;

/** The owner of a port claimed before its container runs (port-claims.ts), with the claim's time. */
const CLAIM = 'claim:';

/**
 * A published port the forwarder cannot listen on, in the words of the runner's engine ("port is already
 * allocated"): the port, the container, what holds it and the remedy. Clients of the job that use that address reach
 * whatever holds it, never this container: the job must pick another port.
 */
export function collisionReport(o: { host: string; port: number; container: string; id: string; code?: string; message: string }): string {
  const where = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  const name = o.container.replace(/^\//, '');
  const who = o.code === 'EADDRINUSE' ? 'is already allocated on this host (another job or program listens there)' : `cannot be listened on (${o.message})`;
  return (
    `port ${o.port} of container ${name} (${o.id.slice(0, 12)}) is not forwarded: ${where} ${who}; connections to it do not reach this container. ` +
    `Publish it on another host port (-p <free port>:<container port>), or let the daemon choose one (-p <container port>) and read it with docker port.`
  );
}

/** The listeners for the published ports of running containers; each relays connections to target:port. */
export class PortForwarder {
  private readonly byPort = new Map<number, { owner: string; servers: net.Server[]; sockets: Set<net.Socket> }>();

  constructor(
    private readonly target: string,
    private readonly listen: string[],
    private readonly log: Log,
  ) {}

  get ports(): number[] {
    return [...this.byPort.keys()].sort((a, b) => a - b);
  }

  /** Makes the forwarded ports of one container (`name`, for the messages) exactly `ports`. */
  async sync(owner: string, ports: number[], name = owner.slice(0, 12)): Promise<void> {
    for (const [port, entry] of this.byPort) if (entry.owner === owner && !ports.includes(port)) this.closePort(port);
    for (const port of ports) {
      const held = this.byPort.get(port);
      if (held?.owner.startsWith(CLAIM)) {
        // Claimed while the daemon started the container (port-claims.ts): the container's now.
        held.owner = owner;
        this.log(`forwarding ${this.listen.join(', ')} port ${port} to ${this.target}:${port} (container ${owner.slice(0, 12)})`);
      }
      if (held) continue;
      await this.open(port, owner, (host, e) => {
        // No IPv6 loopback here: nothing to do. Anything else (the port is taken on the job's side) is said.
        if (e.code !== 'EADDRNOTAVAIL' && e.code !== 'EAFNOSUPPORT') this.log(`warning: ${collisionReport({ host, port, container: name, id: owner, code: e.code, message: e.message })}`);
      });
    }
  }

  /**
   * A port the daemon is about to publish (port-claims.ts): listening on it now. Undefined when it listens (or did
   * already), else the refusal. A claim no container takes within a minute (its start failed) is closed.
   */
  async claim(port: number, now = Date.now()): Promise<string | undefined> {
    for (const [p, entry] of this.byPort) if (entry.owner.startsWith(CLAIM) && now - Number(entry.owner.slice(CLAIM.length)) > 60_000) this.closePort(p);
    if (this.byPort.has(port)) return undefined;
    let refusal: string | undefined;
    const opened = await this.open(port, `${CLAIM}${now}`, (host, e) => {
      if (host !== this.listen[0]) return;
      refusal = e.code === 'EADDRINUSE' ? 'another job or program listens there' : e.message;
    });
    return opened ? undefined : claimRefusal(port, refusal ?? 'it cannot be listened on');
  }

  /** Listens on `port` at every address for `owner`; false when 127.0.0.1 (the first) could not be had. */
  private async open(port: number, owner: string, failed: (host: string, e: NodeJS.ErrnoException) => void): Promise<boolean> {
    const entry = { owner, servers: [] as net.Server[], sockets: new Set<net.Socket>() };
    this.byPort.set(port, entry);
    for (const host of this.listen) {
      const server = net.createServer({ allowHalfOpen: true }, (client) => this.relay(client, port, entry.sockets));
      const listening = await new Promise<boolean>((resolve) => {
        server.once('error', (e: NodeJS.ErrnoException) => {
          failed(host, e);
          resolve(false);
        });
        server.listen({ host, port, exclusive: true }, () => resolve(true));
      });
      if (listening) entry.servers.push(server);
      // 127.0.0.1 (the first) is what the job uses; without it the port is not forwarded at all.
      if (!listening && host === this.listen[0]) break;
    }
    if (entry.servers.length) {
      if (!owner.startsWith(CLAIM)) this.log(`forwarding ${this.listen.join(', ')} port ${port} to ${this.target}:${port} (container ${owner.slice(0, 12)})`);
      return true;
    }
    this.byPort.delete(port);
    return false;
  }

  release(owner: string): void {
    for (const [port, entry] of this.byPort) if (entry.owner === owner) this.closePort(port);
  }

  close(): void {
    for (const port of [...this.byPort.keys()]) this.closePort(port);
  }

  private closePort(port: number): void {
    const entry = this.byPort.get(port);
    if (!entry) return;
    this.byPort.delete(port);
    for (const s of entry.servers) s.close();
    for (const s of entry.sockets) s.destroy();
    this.log(`stopped forwarding port ${port}`);
  }

  private relay(client: net.Socket, port: number, sockets: Set<net.Socket>): void {
    const upstream = net.connect({ host: this.target, port, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    // Half-close travels both ways (pipe ends the other side); the pair is done when both are closed.
    let closed = 0;
    const onClose = () => ++closed === 2 && done();
    client.on('close', onClose);
    upstream.on('close', onClose);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/**
 * The forwarder's loop: follow events first, then take in the containers already running, so none is missed.
 * Ends when `signal` aborts, or when the daemon's event stream ends and the daemon stops answering.
 */
export async function followDaemon(engine: EngineClient, forwarder: PortForwarder, log: Log, signal: AbortSignal, ready: () => void = () => undefined): Promise<void> {
  const syncOne = async (id: string) => {
    const c = await engine.inspectContainer(id).catch(() => undefined);
    if (!c || !c.running) return forwarder.release(id);
    const { forward, loopbackOnly } = publishedPorts(c.ports);
    for (const p of loopbackOnly) log(`note: ${c.name} publishes port ${p} on the daemon's loopback only; publish it on all addresses (-p ${p}:...) to reach it at 127.0.0.1:${p}`);
    await forwarder.sync(id, forward, c.name);
  };
  let failures = 0;
  let first = true;
  while (!signal.aborted) {
    try {
      // Subscribed first; containers that started before are found by the listing.
      const events = await engine.containerEvents(signal);
      for (const id of await engine.runningContainers()) await syncOne(id);
      if (first) {
        first = false;
        ready();
      }
      failures = 0;
      for await (const { id, action } of events) {
        if (action === 'start') await syncOne(id);
        else forwarder.release(id);
      }
    } catch (e) {
      if (signal.aborted) break;
      log(`the daemon's events: ${(e as Error).message}`);
    }
    if (signal.aborted) break;
    // The stream ended: the daemon restarted, or is gone. Try again for a while, then stop.
    if (++failures > 10) {
      log('the daemon does not answer any more; the forwarder stops');
      break;
    }
    await new Promise((r) => setTimeout(r, 500 * failures));
  }
  forwarder.close();
}

/** The forwarder process: reads its config, follows the daemon until SIGTERM or the daemon's end. */
export async function runForwarder(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as ForwarderConfig;
  const log: Log = (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const controller = new AbortController();
  const forwarder = new PortForwarder(config.target, config.listen, log);
  // Stopped by post: at once, whatever engine call is in flight (nothing is left to flush: the log is a file).
  let unclaim: (() => void) | undefined;
  const shutdown = (why: string) => {
    unclaim?.();
    controller.abort();
    forwarder.close();
    log(`stopped (${why})`);
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => shutdown(sig));
  // Nothing outlives its daemon: the container gone or the job directory removed ends the forwarder within a second.
  const unwatch = config.guard ? watchLifeline(config.guard, dirname(configPath), shutdown) : undefined;
  if (config.guard) handPortsTo(config.guard, process.pid, selfHolder().argv);
  const engine = new EngineClient(loadEndpoint(config.daemon));
  let following = () => undefined as void;
  const gated = await gateFor(config.runCheckResult ? config.gate : undefined, new Promise<void>((r) => (following = r)));
  // Started by pre: the daemon may not answer yet (its answer gives the run check the architecture).
  const arch = config.deadline !== undefined ? await daemonArchBy(engine, config.deadline) : undefined;
  if (config.deadline !== undefined && arch === undefined) {
    gated?.gate.close();
    log('the daemon did not answer in time; the forwarder stops');
    unwatch?.();
    return;
  }
  log(`following ${config.daemon.host}; published ports go to ${config.target}`);
  if (config.runCheckResult) {
    const check = async () => checkRuns(engine, arch ?? (await engine.version()).arch, config.runCheckResult!, gated);
    void check().catch((e: Error) => log(`the run check: ${e.message}`));
  }
  await followDaemon(engine, forwarder, log, controller.signal, () => {
    // Ports the daemon is about to publish are claimed first: one held on this side fails the container's start.
    unclaim ??= serveClaims(dirname(configPath), (port) => forwarder.claim(port), log);
    following();
    if (config.readyFile) writeFileSync(config.readyFile, `${process.pid}\n`, { mode: 0o600 });
    if (process.send) {
      process.send('ready');
      process.disconnect?.();
    }
  });
  unwatch?.();
  unclaim?.();
  log('stopped');
}

/**
 * pre: the forwarder starts while the daemon boots (it waits for it), so main, after the job's checkout, finds it
 * following already. Returns at once; the pid goes to state the moment it exists.
 */
export function launchForwarder(o: {
  daemon: DaemonEndpoint;
  target: string;
  jobDir: string;
  timeoutMs: number;
  script: string;
  /** The forwarder runs the run check too, and gates the job's socket when this is given. */
  runCheck: boolean;
  guard?: HelperGuard;
  gate?: GateConfig;
  record: (r: ForwarderRecord, check: RunCheckRecord | undefined) => void;
}): void {
  const configPath = join(o.jobDir, 'forwarder.json');
  const readyFile = join(o.jobDir, 'forwarder.ready');
  const runCheckResult = o.runCheck ? join(o.jobDir, RUN_CHECK_RESULT) : undefined;
  const config: ForwarderConfig = { daemon: saveEndpoint(o.daemon), target: o.target, listen: ['127.0.0.1', '::1'], deadline: Date.now() + o.timeoutMs, readyFile, runCheckResult, gate: o.gate, ...(o.guard ? { guard: o.guard } : {}) };
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const logPath = join(o.jobDir, 'forwarder.log');
  const fd = openSync(logPath, 'a', 0o600);
  let pid;
  try {
    pid = spawnHelper(o.script, FORWARDER_FLAG, configPath, ['ignore', fd, fd]);
  } finally {
    closeSync(fd);
  }
  if (!pid) return; // main starts its own forwarder
  handPortsTo(o.guard, pid, [process.execPath, o.script, FORWARDER_FLAG, configPath]);
  o.record({ pid, log: logPath, script: o.script, ready: readyFile }, runCheckResult ? { pid, result: runCheckResult } : undefined);
}

/**
 * main: the forwarder pre started, once it follows the daemon (its ready file); the same warning as a forwarder that
 * cannot start when it is gone or not following within `timeoutMs`.
 */
export async function forwarderFollowing(r: ForwarderRecord & { ready: string }, log: Logger, env: Readonly<Record<string, string | undefined>>, target: string, timeoutMs = 10_000, gates = false): Promise<Record<string, string>> {
  const until = Date.now() + timeoutMs;
  // A forwarder that gates the job's socket lets the job through only once it follows: main need not wait for that.
  while (!existsSync(r.ready) && !(gates && alive(r.pid))) {
    const problem = !alive(r.pid) ? 'the port forwarder exited' : Date.now() > until ? `the port forwarder did not follow the daemon within ${timeoutMs / 1000} s` : undefined;
    if (problem) {
      log.warning(`setup-dind: published ports are not forwarded to 127.0.0.1 (${problem}); they answer at the daemon's address ${target}.`);
      return {};
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  return testcontainersHost(env);
}

const testcontainersHost = (env: Readonly<Record<string, string | undefined>>): Record<string, string> =>
  // testcontainers looks for published ports at the daemon's bridge gateway when it runs inside a container
  // (/.dockerenv: self-hosted runners in containers), which is inside the daemon's container here: 127.0.0.1 is right.
  env.TESTCONTAINERS_HOST_OVERRIDE === undefined ? { TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' } : {};

/**
 * Starts the forwarder as a detached process of its own (it outlives main) with its output in `logPath`; resolves
 * when it follows the daemon's events, so a container started by the very next step is seen.
 */
export async function startForwarder(options: {
  daemon: DaemonEndpoint;
  saved: SavedEndpoint;
  target: string;
  configPath: string;
  logPath: string;
  /** The bundle to run (this entry point's own file). */
  script: string;
  timeoutMs?: number;
  guard?: HelperGuard;
  record: (r: ForwarderRecord) => void;
  writeConfig: (path: string, text: string) => Promise<void>;
}): Promise<ForwarderRecord> {
  const config: ForwarderConfig = { daemon: options.saved, target: options.target, listen: ['127.0.0.1', '::1'], ...(options.guard ? { guard: options.guard } : {}) };
  await options.writeConfig(options.configPath, JSON.stringify(config));
  const fd = openSync(options.logPath, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [options.script, FORWARDER_FLAG, options.configPath], {
      detached: true,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (!pid) throw new Error('the port forwarder could not be started');
  handPortsTo(options.guard, pid, [process.execPath, options.script, FORWARDER_FLAG, options.configPath]);
  const record: ForwarderRecord = { pid, log: options.logPath, script: options.script };
  options.record(record);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the port forwarder did not follow the daemon within ${(options.timeoutMs ?? 10_000) / 1000} s`)), options.timeoutMs ?? 10_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`the port forwarder exited at once (${sig ?? `code ${code}`})`));
      });
    });
  } finally {
    if (child.connected) child.disconnect();
    child.unref();
  }
  return record;
}

/** Stops the forwarder of this job (only if that pid still runs our bundle); resolves when it is gone. */
export async function stopForwarder(r: ForwarderRecord, readCmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8')): Promise<boolean> {
  let cmdline = '';
  try {
    cmdline = readCmdline(r.pid);
  } catch {
    return false; // gone already
  }
  if (!cmdline.split('\0').includes(FORWARDER_FLAG)) return false; // the pid was reused by something else
  process.kill(r.pid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(r.pid); i++) await new Promise((res) => setTimeout(res, 40));
  if (alive(r.pid)) process.kill(r.pid, 'SIGKILL');
  return true;
}

/**
 * main, once the daemon answers: the forwarder for this job's published ports. A forwarder that cannot start is a
 * warning (the ports still answer at the daemon's address), never a failed step.
 */
export async function startPortForwarding(o: {
  endpoint: DaemonEndpoint;
  target: string;
  jobDir: string;
  state: Recorder<{ forwarder?: ForwarderRecord }>;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  script?: string;
  guard?: HelperGuard;
}): Promise<Record<string, string>> {
  const script = o.script ?? process.argv[1];
  try {
    if (!script) throw new Error('the running bundle is unknown');
    await startForwarder({
      daemon: o.endpoint,
      saved: saveEndpoint(o.endpoint),
      target: o.target,
      configPath: join(o.jobDir, 'forwarder.json'),
      logPath: join(o.jobDir, 'forwarder.log'),
      script,
      guard: o.guard,
      record: (forwarder) => o.state.update({ forwarder }),
      writeConfig: (path, text) => writeFile(path, text, { mode: 0o600 }),
    });
  } catch (e) {
    o.log.warning(`setup-dind: published ports are not forwarded to 127.0.0.1 (${(e as Error).message}); they answer at the daemon's address ${o.target}.`);
    return {};
  }
  return testcontainersHost(o.env);
}

/** The forwarder's warnings (a port it could not listen on), for post to repeat where the job's log shows them. */
export function forwarderWarnings(r: ForwarderRecord, read = (path: string) => readFileSync(path, 'utf8')): string[] {
  let text = '';
  try {
    text = read(r.log);
  } catch {
    return [];
  }
  return text.split('\n').map((l) => /^\S+ warning: (.*)$/.exec(l)?.[1]).filter((w): w is string => Boolean(w)).slice(0, 20);
}
