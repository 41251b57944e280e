// Isolation on a shared host, through the phases: the job's own block of host ports (port-range.ts) reserved before
// the daemon's container is created and released by post; our background processes (the port forwarder, the run
// check) tied to the daemon's container and the job directory, so they end by themselves when either is gone; and
// cleanup-stale ending the background processes of dead jobs on this host.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type SavedEndpoint, loadEndpoint } from '../endpoint/endpoint.js';
import { EngineClient, EngineError } from '../engine/client.js';
import type { Logger, Recorder } from '../platform/platform.js';
import { objectName } from '../session/session.js';
import { FORWARDER_FLAG, RUN_CHECK_FLAG, alive } from './helper-process.js';
import {
  type ReservationRecord,
  type ReserveDeps,
  entryIsLive,
  handOver,
  hostDeps,
  rangeSysctl,
  readEntry,
  reserveBlock,
  selfHolder,
} from './port-range.js';

/** What a background helper needs to know that its job is still alive, and the port block it holds. */
export interface HelperGuard {
  /** The engine that runs the daemon's container, and the container. */
  outer: SavedEndpoint;
  container: string;
  /** The job's port block: the forwarder becomes its holder. */
  ports?: ReservationRecord;
}

/** The guard of a started dind session (undefined before its container exists). */
export function helperGuard(s: { outer?: SavedEndpoint; containerId?: string; ports?: ReservationRecord } | undefined): HelperGuard | undefined {
  return s?.outer && s.containerId ? { outer: s.outer, container: s.containerId, ...(s.ports ? { ports: s.ports } : {}) } : undefined;
}

/**
 * Before the daemon's container is created: the job's block of host ports, as the sysctl the container gets. None
 * when the ports are not forwarded to 127.0.0.1 (they answer at the daemon's own address, which is the job's alone),
 * with a rootless image (rootlesskit's namespace picks them), or when no block is free (a warning says so).
 */
export function reserveJobPorts(o: {
  forwardPorts: boolean;
  rootless: boolean;
  state: Recorder<{ session: string; ports?: ReservationRecord }>;
  jobDir: string;
  log: Logger;
  deps?: () => ReserveDeps;
}): Record<string, string> | undefined {
  if (!o.forwardPorts || o.rootless) return undefined;
  const s = o.state.value;
  if (!s) return undefined;
  try {
    const record = reserveBlock({ session: s.session, jobDir: o.jobDir, holder: selfHolder() }, (o.deps ?? hostDeps)());
    if (!record) {
      o.log.warning('setup-dind: no block of host ports is free for this job; its daemon picks published ports from the kernel\'s default range, where other jobs\' daemons pick them too.');
      return undefined;
    }
    o.state.update({ ports: record });
    return rangeSysctl(record);
  } catch (e) {
    o.log.warning(`setup-dind: the job's host ports could not be reserved (${(e as Error).message}); its daemon picks published ports from the kernel's default range.`);
    return undefined;
  }
}

/** The launcher's hand-over: the forwarder (its argv as spawned) holds the block from now on. */
export function handPortsTo(guard: HelperGuard | undefined, pid: number, argv: string[]): void {
  if (guard?.ports) {
    try {
      handOver(guard.ports, { pid, argv });
    } catch {
      /* the entry is gone: post or a reaper took it; nothing to hold */
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `gone` once, with the reason, as soon as the daemon's container is no longer running (stopped, crashed,
 * removed: the engine's wait answers) or `dir` (the job directory) disappears. Returns a function that stops watching.
 */
export function watchLifeline(guard: HelperGuard, dir: string, gone: (why: string) => void, o: { pollMs?: number; engine?: EngineClient } = {}): () => void {
  let stopped = false;
  const engine = o.engine ?? new EngineClient(loadEndpoint(guard.outer));
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    engine.close(); // the pending wait must not hold the process
  };
  const end = (why: string) => {
    if (stopped) return;
    stop();
    gone(why);
  };
  const timer = setInterval(() => existsSync(dir) || end(`the job directory ${dir} is gone`), o.pollMs ?? 500);
  const id = guard.container.slice(0, 12);
  void (async () => {
    for (let failures = 0; !stopped; ) {
      try {
        const code = await engine.waitContainer(guard.container);
        return end(`the daemon's container ${id} stopped (exit code ${code})`);
      } catch (e) {
        if (e instanceof EngineError && e.statusCode === 404) return end(`the daemon's container ${id} is gone`);
        // The engine itself does not answer: a few tries (a restart), then its containers count as gone.
        if (++failures >= 4) return end(`the engine that runs the daemon's container does not answer (${(e as Error).message})`);
        await sleep(o.pollMs ?? 500);
      }
    }
  })();
  return stop;
}

/** A live process that runs one of our helpers for `jobDir` (its config file lies there). */
export function isOurHelper(argv: string[] | undefined, jobDir: string): boolean {
  if (!argv) return false;
  const flag = argv.findIndex((a) => a === FORWARDER_FLAG || a === RUN_CHECK_FLAG);
  return flag > 0 && (argv[flag + 1] ?? '').startsWith(`${jobDir}/`);
}

export interface EndDeps {
  deps: ReserveDeps;
  kill: (pid: number, signal: NodeJS.Signals) => void;
  alive: (pid: number) => boolean;
  removeDir: (dir: string) => void;
}

const realEnd = (): EndDeps => ({
  deps: hostDeps(),
  kill: (pid, signal) => process.kill(pid, signal),
  alive,
  removeDir: (dir) => rmSync(dir, { recursive: true, force: true }),
});

/**
 * cleanup-stale, on this host: the background processes of the sessions it reaped end (each verified first: the
 * pid runs the very command line recorded in the session's port entry, one of our helpers for that session's job
 * directory), their port entries go, and so do their job directories (the daemon's socket, TLS keys) when the entry
 * names one of ours. What it ended, in words.
 */
export async function endStaleHelpers(sessions: ReadonlySet<string>, log: Logger, end: EndDeps = realEnd()): Promise<string[]> {
  if (!sessions.size) return [];
  const ended: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(end.deps.dir).filter((n) => n.endsWith('.json'));
  } catch {
    return ended;
  }
  for (const name of names) {
    const file = join(end.deps.dir, name);
    const entry = readEntry(file);
    if (!entry || !sessions.has(entry.session)) continue;
    const { pid } = entry.holder;
    if (entryIsLive(entry, end.deps.argvOf) && isOurHelper(entry.holder.argv, entry.jobDir)) {
      try {
        end.kill(pid, 'SIGTERM');
        for (let i = 0; i < 40 && end.alive(pid); i++) await sleep(50);
        if (end.alive(pid)) end.kill(pid, 'SIGKILL');
        ended.push(`process ${pid} (port forwarder of ${entry.session})`);
      } catch (e) {
        log.warning(`cleanup-stale: could not end process ${pid} of ${entry.session}: ${(e as Error).message}`);
        continue;
      }
    } else if (entryIsLive(entry, end.deps.argvOf)) {
      continue; // a live holder that is not our helper (the phase of a job still starting): not ours to signal
    }
    try {
      rmSync(file, { force: true });
    } catch {
      /* another user's entry in the sticky directory: its block stays skipped until that user reclaims it */
    }
    if (basename(entry.jobDir) === objectName(entry.session) && ownedByUs(entry.jobDir)) {
      end.removeDir(entry.jobDir);
      ended.push(`directory ${entry.jobDir}`);
    }
  }
  return ended;
}

function ownedByUs(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === process.getuid?.();
  } catch {
    return false;
  }
}
