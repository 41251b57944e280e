// Post's removal of what this job created: only objects that carry this session's label, plus the per-job
// directory. Idempotent (post may run twice) and never fatal: each problem becomes a warning.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadEndpoint } from '../endpoint/endpoint.js';
import { EngineClient, type LabelledObjects } from '../engine/client.js';
import type { Logger } from '../platform/platform.js';
import { LABEL_CREATED, LABEL_SESSION } from '../session/session.js';
import type { SessionState } from '../state.js';
import { forwarderWarnings, stopForwarder } from '../background/forwarder.js';
import { stopRunCheck } from '../background/run-check.js';
import { endStaleHelpers } from '../background/isolation.js';
import { releaseBlock } from '../background/port-range.js';

export interface CleanupReport {
  removed: string[];
  warnings: string[];
}


type Attempt = (what: string, fn: () => Promise<void>) => Promise<void>;
type Removal = [what: string, fn: () => Promise<void>];

/** Runs removals side by side; each outcome is reported through `attempt`, in the order they are listed. */
async function together(removals: Removal[], attempt: Attempt): Promise<void> {
  const outcomes = removals.map(([, fn]) => fn().then(() => undefined, (e: unknown) => e));
  await Promise.all(outcomes);
  for (const [i, [what]] of removals.entries()) {
    const outcome = await outcomes[i]!;
    await attempt(what, async () => {
      if (outcome !== undefined) throw outcome;
    });
  }
}

/**
 * Containers first, removed at once (a running one is killed: nothing of a job's daemon is kept unless the cache
 * saved it before), then their volumes, their networks and anything `alongside` (the per-job directory), together.
 */
async function removeObjects(engine: EngineClient, found: LabelledObjects, attempt: Attempt, alongside: Removal[] = []): Promise<void> {
  await together(found.containers.map((c) => [`container ${c.name}`, () => engine.removeContainer(c.id)]), attempt);
  await together(
    [
      ...found.volumes.map((v): Removal => [`volume ${v.name}`, () => engine.removeVolume(v.name)]),
      ...found.networks.map((n): Removal => [`network ${n.name}`, () => engine.removeNetwork(n.id)]),
      ...alongside,
    ],
    attempt,
  );
}

/**
 * The job's background processes: a run check still waiting for the daemon (main never came), and the port forwarder
 * (it follows the daemon and logs into the job directory). Post stops them first: a stopping dockerd (23 and later)
 * waits up to 5 s for the forwarder's open event stream before it exits, which a data-root save's clean stop pays.
 */
export async function stopBackground(state: SessionState, log: Logger): Promise<CleanupReport> {
  const report: CleanupReport = { removed: [], warnings: [] };
  if (state.runCheck && state.runCheck.pid !== state.forwarder?.pid) await stopRunCheck(state.runCheck).catch(() => false);
  const forwarder = state.forwarder;
  if (!forwarder) return report;
  try {
    for (const w of forwarderWarnings(forwarder)) log.warning(`setup-dind port forwarding: ${w}`);
    if (await stopForwarder(forwarder)) report.removed.push(`port forwarder (pid ${forwarder.pid})`);
  } catch (e) {
    const message = `Could not stop the port forwarder (pid ${forwarder.pid}): ${(e as Error).message}`;
    report.warnings.push(message);
    log.warning(message);
  }
  return report;
}

/** Removes what the session made; `background` is what stopBackground reported when the caller ran it already. */
export async function cleanupSession(state: SessionState, log: Logger, background?: CleanupReport): Promise<CleanupReport> {
  const stopped = background ?? (await stopBackground(state, log));
  const report: CleanupReport = { removed: [], warnings: [...stopped.warnings] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
      report.removed.push(what);
    } catch (e) {
      const message = `Could not remove ${what}: ${(e as Error).message}`;
      report.warnings.push(message);
      log.warning(message);
    }
  };

  // The directory goes after the container that mounts it (a live dockerd could still write into it).
  const dir = state.jobDir;
  const alongside: Removal[] = dir && existsSync(dir) ? [[`directory ${dir}`, () => rm(dir, { recursive: true, force: true })]] : [];
  if (state.outer) {
    const engine = new EngineClient(loadEndpoint(state.outer));
    const label = `${LABEL_SESSION}=${state.session}`;
    let found;
    try {
      found = await engine.listLabelled(label);
    } catch (e) {
      const message = `Could not list this job's containers on ${engine.description}: ${(e as Error).message}`;
      report.warnings.push(message);
      log.warning(message);
      found = { containers: [], volumes: [], networks: [] };
    }
    // What state names but the engine no longer lists is already gone; what the engine lists with our label but
    // state lost (a crash between create and save) is ours all the same.
    await removeObjects(engine, found, attempt, alongside);
  } else {
    await together(alongside, attempt);
  }
  // The forwarder went first, but is named last; its port block is free once it is gone.
  report.removed.push(...stopped.removed);
  if (state.ports && releaseBlock(state.ports, state.session)) report.removed.push(`host ports ${state.ports.start}-${state.ports.end}`);
  return report;
}

/**
 * Removes what crashed earlier jobs left on a shared engine (self-hosted runners): objects of OTHER setup-dind
 * sessions whose creation label is older than `olderThanMs`. Only when asked (input cleanup-stale); never touches
 * the current session, objects without our labels, or anything newer than the threshold.
 */
export async function reapStale(
  engine: EngineClient,
  olderThanMs: number,
  currentSession: string,
  log: Logger,
  now = Date.now(),
  endHelpers: (sessions: ReadonlySet<string>, log: Logger) => Promise<string[]> = endStaleHelpers,
): Promise<string[]> {
  const found = await engine.listLabelled(LABEL_SESSION);
  const stale = (labels: Record<string, string>) => {
    if (labels[LABEL_SESSION] === currentSession) return false;
    const created = Date.parse(labels[LABEL_CREATED] ?? '');
    return Number.isFinite(created) && now - created > olderThanMs;
  };
  const removed: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
      removed.push(what);
    } catch (e) {
      log.warning(`cleanup-stale: could not remove ${what}: ${(e as Error).message}`);
    }
  };
  await removeObjects(
    engine,
    {
      containers: found.containers.filter((c) => stale(c.labels)),
      volumes: found.volumes.filter((v) => stale(v.labels)),
      networks: found.networks.filter((n) => stale(n.labels)),
    },
    attempt,
  );
  // On this host, the reaped sessions' background processes (a forwarder of a job whose post never ran) end too.
  const sessions = new Set([...found.containers, ...found.volumes, ...found.networks].filter((o) => stale(o.labels)).map((o) => o.labels[LABEL_SESSION]!));
  removed.push(...(await endHelpers(sessions, log).catch((e: Error) => (log.warning(`cleanup-stale: ${e.message}`), []))));
  return removed;
}
