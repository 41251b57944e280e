// The run check (run-probe.ts) started early: pre, right after it starts the daemon's container, leaves a small
// process behind that waits until the daemon answers, runs the probe and writes the verdict into the job directory.
// Main then reads the verdict instead of paying the probe (0.6-1 s on a busy runner) after the job's checkout. It is
// the phase's own bundle started again with a flag, like the port forwarder; post stops it if it still runs.
import { type StdioOptions, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { type DaemonEndpoint, type SavedEndpoint, loadEndpoint, saveEndpoint } from '../endpoint/endpoint.js';
import { EngineClient } from '../engine/client.js';
import type { Logger } from '../platform/platform.js';
import { FORWARDER_FLAG, RUN_CHECK_FLAG, runsOurHelper } from './helper-process.js';
import { type RunProbeResult, probeContainerRun } from './run-probe.js';
import { type HelperGuard, watchLifeline } from './isolation.js';
import { type Gate, type GateConfig, cannotRunMessage, ensureDaemonSocket, jobSocketExists, openGate } from './run-gate.js';

/** dind: the run check pre leaves running (background/run-check.ts): its verdict goes to `result`. */
export interface RunCheckRecord {
  pid: number;
  result: string;
}

export { RUN_CHECK_FLAG };
/** The verdict's file in the job directory. */
export const RUN_CHECK_RESULT = 'run-check.result.json';
const POLL_MS = 25;

interface RunCheckConfig {
  daemon: SavedEndpoint;
  /** Where the verdict goes (written whole, then renamed into place). */
  result: string;
  /** Epoch ms after which the process gives up waiting for the daemon (main's own wait then decides). */
  deadline: number;
  /** The daemon's container: the check ends when it is gone or the job directory is. */
  guard?: HelperGuard;
  /** The job's socket waits for the verdict (run-gate.ts). */
  gate?: GateConfig;
}

/**
 * A background helper yields the CPU to the daemon's boot and to the job (a 2-core runner is busy while dockerd
 * starts): its waiting and its engine calls are not on anyone's critical path until main asks for the result.
 */
function lowerPriority(pid: number): void {
  try {
    setPriority(pid, 10);
  } catch {
    /* not allowed here: it runs at normal priority */
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * pre: this bundle started again as a background helper (`flag`, its config file): detached, at lower priority, not
 * holding pre open. Its pid, or undefined when it could not start (main then does the helper's work itself).
 */
export function spawnHelper(script: string, flag: string, configPath: string, stdio: StdioOptions): number | undefined {
  const child = spawn(process.execPath, [script, flag, configPath], { detached: true, stdio, env: { ...process.env, NODE_OPTIONS: '' } });
  child.on('error', () => undefined);
  if (!child.pid) return undefined;
  lowerPriority(child.pid);
  child.unref();
  return child.pid;
}

/** pre: starts the run check in the background and returns at once, its pid recorded the moment it exists. */
export function startRunCheck(o: { daemon: DaemonEndpoint; jobDir: string; timeoutMs: number; script: string | undefined; gate?: GateConfig; guard?: HelperGuard; record: (r: RunCheckRecord) => void }): void {
  if (!o.script) return; // the running bundle is unknown: main runs the probe itself
  const configPath = join(o.jobDir, 'run-check.json');
  const config: RunCheckConfig = { daemon: saveEndpoint(o.daemon), result: join(o.jobDir, RUN_CHECK_RESULT), deadline: Date.now() + o.timeoutMs, gate: o.gate, ...(o.guard ? { guard: o.guard } : {}) };
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const pid = spawnHelper(o.script, RUN_CHECK_FLAG, configPath, 'ignore');
  if (pid) o.record({ pid, result: config.result });
}

/**
 * A background helper's wait for the daemon pre started: one probe (/_ping, /version, /info) at a time until it
 * answers; its architecture (what the run check needs), or undefined when `deadline` (epoch ms) passed first.
 */
export async function daemonArchBy(client: EngineClient, deadline: number): Promise<string | undefined> {
  while (Date.now() <= deadline) {
    const arch = await client.probe(1000).then((v) => v.arch, () => undefined);
    if (arch !== undefined) return arch;
    await sleep(POLL_MS);
  }
  return undefined;
}

/** The background process: waits for the daemon, probes, writes the verdict. */
export async function runRunCheck(configPath: string): Promise<void> {
  const config = JSON.parse(await readFile(configPath, 'utf8')) as RunCheckConfig;
  const gated = await gateFor(config.gate);
  const client = new EngineClient(loadEndpoint(config.daemon));
  const stop = config.guard ? watchLifeline(config.guard, dirname(configPath), () => process.exit(0)) : undefined;
  const arch = await daemonArchBy(client, config.deadline);
  try {
    if (arch !== undefined) await writeVerdict(await probeContainerRun(client, arch), config.result, gated);
    else gated?.gate.close();
  } finally {
    stop?.();
  }
}

/**
 * A helper that runs the check: the job's socket is its gate from the start, when pre asked for one. `after`: what
 * must also be done before the gate lets the job through (the forwarder following the daemon's events, so the job's
 * first container is forwarded), waited for at most AFTER_MS.
 */
export type Gated = { gate: Gate; config: GateConfig; after?: Promise<void> };
const AFTER_MS = 10_000;
export async function gateFor(config: GateConfig | undefined, after?: Promise<void>): Promise<Gated | undefined> {
  try {
    return config ? { gate: await openGate(config.jobDir), config, after } : undefined;
  } catch {
    return undefined; // no gate: main finds no job's socket, waits for the verdict and puts dockerd's socket there
  }
}

/** The verdict for main (a file), and for the job's socket when it is gated. */
async function writeVerdict(result: RunProbeResult, path: string, gated?: Gated): Promise<void> {
  if (gated) {
    if (result.ok && gated.after) await Promise.race([gated.after, sleep(AFTER_MS)]);
    if (result.ok) gated.gate.pass();
    else gated.gate.fail(`setup-dind: ${cannotRunMessage(result.error, gated.config.privilege, gated.config.grant)}`);
  }
  await writeFile(`${path}.tmp`, JSON.stringify(result), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The check inside another process that found the daemon answering (the port forwarder), with its architecture. */
export async function checkRuns(client: EngineClient, arch: string, resultPath: string, gated?: Gated): Promise<void> {
  await writeVerdict(await probeContainerRun(client, arch), resultPath, gated);
}

/** Our run check's process, alive: the run check itself, or the port forwarder that runs the check too. */
const running = (pid: number): boolean => runsOurHelper(pid, [RUN_CHECK_FLAG, FORWARDER_FLAG]);

const readResult = (path: string): RunProbeResult | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunProbeResult;
  } catch {
    return undefined;
  }
};

/**
 * main, once the daemon answers: the verdict of the check pre started, waiting for it while its process runs; undefined
 * when there is none (the process is gone without one, or never started): main then runs the probe itself.
 */
export async function runCheckVerdict(r: RunCheckRecord, isRunning: (pid: number) => boolean = running): Promise<RunProbeResult | undefined> {
  for (;;) {
    const result = readResult(r.result);
    if (result) return result;
    if (!isRunning(r.pid)) return readResult(r.result);
    await sleep(POLL_MS);
  }
}

/**
 * main, when the job's socket is gated: the verdict if it is in; 'pending' while the check's process runs (the gate
 * holds the job's docker commands until it is in); undefined when that process is gone without one.
 */
export function verdictNow(r: RunCheckRecord, isRunning: (pid: number) => boolean = running): RunProbeResult | 'pending' | undefined {
  const result = readResult(r.result);
  if (result) return result;
  return isRunning(r.pid) ? 'pending' : readResult(r.result);
}

/**
 * main, when the job's socket is gated: the verdict if it is in, or 'pending' once the gate holds the job's socket;
 * waits while the check's process starts (until one of them is there); undefined when that process is gone first.
 */
export async function gateOrVerdict(r: RunCheckRecord, gateUp: () => boolean, isRunning: (pid: number) => boolean = running): Promise<RunProbeResult | 'pending' | undefined> {
  for (;;) {
    const result = readResult(r.result);
    if (result) return result;
    if (gateUp()) return verdictNow(r, isRunning);
    if (!isRunning(r.pid)) return readResult(r.result);
    await sleep(10);
  }
}

/** post (and main, when it ran the probe itself): stops the check if it still runs; true when it did. */
export async function stopRunCheck(r: RunCheckRecord): Promise<boolean> {
  if (!running(r.pid)) return false;
  process.kill(r.pid, 'SIGKILL');
  for (let i = 0; i < 50 && running(r.pid); i++) await sleep(20);
  return true;
}

/** What checkCanRunContainers reads of the job's state: the early check's record, and what the container was granted. */
export interface RunCheckState {
  runCheck?: RunCheckRecord;
  privilege?: string;
  privilegeGrant?: string;
  /** The job's socket is the check's gate (run-gate.ts), in this job directory. */
  gated?: boolean;
  jobDir?: string;
  ready?: boolean;
}

/** main's summary and log when it leaves the check to the gate. */
export const BACKGROUND_CHECK = "the container run check goes on in the background since pre: the job's docker commands wait for its verdict, and get its reason if it fails";

/**
 * dind: a daemon that answers but cannot run a container (too few capabilities for namespaces, cgroups or its
 * network) fails here, with what it was granted and the remedy, instead of at the job's first `docker run`. The check
 * pre started has usually finished by now; without its verdict, main runs the probe itself. Gated (and `mayLeave`:
 * main's own work needs no verdict), main leaves while it runs: the job's socket holds the job's docker commands
 * until the verdict, and answers them with its reason when it fails.
 */
export async function checkCanRunContainers(client: EngineClient, arch: string, s: RunCheckState | undefined, platform: { log: Logger }, mayLeave = false): Promise<RunProbeResult | 'pending'> {
  const gated = s?.gated && mayLeave;
  const early = s?.runCheck ? await (gated ? gateOrVerdict(s.runCheck, () => jobSocketExists(s.jobDir!)) : runCheckVerdict(s.runCheck)) : undefined;
  if (early === 'pending') {
    platform.log.info(`setup-dind: ${BACKGROUND_CHECK}.`);
    return early;
  }
  const result = early ?? (await probeContainerRun(client, arch));
  if (result.ok) {
    if (s?.gated) ensureDaemonSocket(s.jobDir!);
    platform.log.info(`setup-dind: the daemon started a test container in ${Math.round(result.ms)} ms${early ? ' (checked in the background since pre)' : ''}.`);
    return result;
  }
  throw new Error(cannotRunMessage(result.error, s?.privilege, s?.privilegeGrant));
}

/** post: the reason of a run check that failed after main had ended (the job's docker commands got it from the gate). */
export function lateFailure(s: RunCheckState): string | undefined {
  const late = s.gated && s.ready && s.runCheck ? verdictNow(s.runCheck, () => false) : undefined;
  return late && late !== 'pending' && !late.ok ? `setup-dind: ${cannotRunMessage(late.error, s.privilege, s.privilegeGrant)}` : undefined;
}
