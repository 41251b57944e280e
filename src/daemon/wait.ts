// main's wait for the job's daemon: readiness probes (engine/readiness.ts) paced for a daemon on this machine or
// elsewhere, a container that died given up on at once, and the daemon's log shown when it never answers.
import type { DaemonInfo, EngineClient } from '../engine/client.js';
import { type Clock, NotReadyError, type Ready, waitUntilReady } from '../engine/readiness.js';
import type { Platform } from '../platform/platform.js';
import type { JobDaemon } from './daemon.js';

const LOG_TAIL_LINES = 60;

/** dind: the longest pause between two readiness probes, and between two checks that the daemon's container still runs. */
const LOCAL_POLL_MS = 50;
const GIVE_UP_CHECK_MS = 500;

/** Waits until the daemon answers; when it will not, the error carries the last lines of its log (all of them in a group). */
export async function waitForDaemon(inputs: { mode: string }, daemon: JobDaemon, client: EngineClient, target: string, wait: { timeoutMs: number; startedAt: number }, platform: Pick<Platform, 'group' | 'log'>, clock: Clock): Promise<{ ready: Ready; info: DaemonInfo }> {
  let info: DaemonInfo | undefined;
  // One call per probe, and its answer is also the daemon's info: nothing more to ask once it is ready.
  const probe = async (ms: number) => {
    const answer = await client.probe(ms);
    info = answer.info;
    return answer;
  };
  // A daemon this job started boots on this machine: poll its socket often (a failed connect costs nothing), and ask
  // the engine whether its container died at most twice a second.
  const local = inputs.mode === 'dind';
  let lastGiveUp = -Infinity;
  const giveUp = daemon.giveUp && (async () => {
    if (local && clock.now() - lastGiveUp < GIVE_UP_CHECK_MS) return undefined;
    lastGiveUp = clock.now();
    return daemon.giveUp!();
  });
  try {
    const ready = await waitUntilReady({ target, ...wait, probe, giveUp, clock, ...(local ? { maxDelayMs: LOCAL_POLL_MS } : {}) });
    return { ready, info: info ?? (await client.info()) };
  } catch (e) {
    if (!(e instanceof NotReadyError) || !daemon.logTail) throw e;
    const tail = await daemon.logTail(LOG_TAIL_LINES).catch((err: Error) => `(its log could not be read: ${err.message})`);
    await platform.group('Daemon log (last lines)', async () => platform.log.info(tail));
    throw new Error(`${e.message}\nLast lines of the daemon's log:\n${lastLines(tail, 12)}`);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}

