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
export function startRunCheck(o: { daemon: DaemonEndpoint; jobDir: string; timeoutMs: number; script: string | undefined; guard?: HelperGuard; record: (r: RunCheckRecord) => void }): void {
  if (!o.script) return; // the running bundle is unknown: main runs the probe itself
  const configPath = join(o.jobDir, 'run-check.json');
  const config: RunCheckConfig = { daemon: saveEndpoint(o.daemon), result: join(o.jobDir, RUN_CHECK_RESULT), deadline: Date.now() + o.timeoutMs, ...(o.guard ? { guard: o.guard } : {}) };
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
  const client = new EngineClient(loadEndpoint(config.daemon));
  const stop = config.guard ? watchLifeline(config.guard, dirname(configPath), () => process.exit(0)) : undefined;
  const arch = await daemonArchBy(client, config.deadline);
  try {
    if (arch !== undefined) await writeVerdict(await probeContainerRun(client, arch), config.result);
  } finally {
    stop?.();
  }
}

async function writeVerdict(result: RunProbeResult, path: string): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(result), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The check inside another process that found the daemon answering (the port forwarder), with its architecture. */
export async function checkRuns(client: EngineClient, arch: string, resultPath: string): Promise<void> {
  await writeVerdict(await probeContainerRun(client, arch), resultPath);
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
}

/**
 * dind: a daemon that answers but cannot run a container (too few capabilities for namespaces, cgroups or its
 * network) fails here, with what it was granted and the remedy, instead of at the job's first `docker run`.
 */
export async function checkCanRunContainers(client: EngineClient, arch: string, s: RunCheckState | undefined, platform: { log: Logger }): Promise<RunProbeResult> {
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
