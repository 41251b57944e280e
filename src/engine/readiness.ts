// Waiting until a daemon really answers: probes with backoff (tens of ms at first, at most 1 s apart), each probe
// with its own short timeout, bounded by the overall wait. The clock and the probe are injected so the timing is
// tested without sleeping.
import type { DaemonVersion } from './client.js';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface WaitOptions {
  /** What is waited for, as people read it: "the daemon at unix:///…/docker.sock". */
  target: string;
  /** The whole wait (wait-timeout), counted from `startedAt`: the message names it as the user set it. */
  timeoutMs: number;
  /** When the wait began on `clock` (default: now); time spent before the first probe counts. */
  startedAt?: number;
  /** One attempt; throws when the daemon does not answer properly. */
  probe: (attemptTimeoutMs: number) => Promise<DaemonVersion>;
  /**
   * Called between attempts: a reason to stop waiting at once (the daemon's container exited), or undefined.
   * This is what turns a dead daemon into an immediate failure instead of a 60 s timeout.
   */
  giveUp?: () => Promise<string | undefined>;
  clock?: Clock;
  firstDelayMs?: number;
  maxDelayMs?: number;
  maxAttemptMs?: number;
}

export interface Ready {
  version: DaemonVersion;
  elapsedMs: number;
  attempts: number;
}

export class NotReadyError extends Error {
  constructor(
    message: string,
    readonly elapsedMs: number,
    readonly lastError: string,
  ) {
    super(message);
    this.name = 'NotReadyError';
  }
}

const describeError = (e: unknown): string => {
  const err = e as { code?: string; message?: string };
  const text = err?.message ?? String(e);
  return err?.code && !text.includes(err.code) ? `${err.code}: ${text}` : text;
};

export async function waitUntilReady(options: WaitOptions): Promise<Ready> {
  const clock = options.clock ?? realClock;
  const firstDelay = options.firstDelayMs ?? 20;
  const maxDelay = options.maxDelayMs ?? 1000;
  const maxAttempt = options.maxAttemptMs ?? 2000;
  const start = options.startedAt ?? clock.now();
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  let delay = firstDelay;
  let attempts = 0;
  let lastError = 'no attempt was made';

  for (;;) {
    const elapsed = clock.now() - start;
    const remaining = options.timeoutMs - elapsed;
    if (remaining <= 0) {
      throw new NotReadyError(
        `${options.target} did not answer within ${seconds(options.timeoutMs)} (${attempts} attempts); last error: ${lastError}. ` +
          'Check that the address is right and the daemon is running; raise wait-timeout if it is just slow.',
        elapsed,
        lastError,
      );
    }
    attempts++;
    try {
      const version = await options.probe(Math.max(50, Math.min(maxAttempt, remaining)));
      return { version, elapsedMs: clock.now() - start, attempts };
    } catch (e) {
      lastError = describeError(e);
    }
    const reason = await options.giveUp?.();
    if (reason !== undefined) {
      const elapsedNow = clock.now() - start;
      throw new NotReadyError(`${options.target} will not become ready: ${reason} (after ${seconds(elapsedNow)}, ${attempts} attempts; last error: ${lastError})`, elapsedNow, lastError);
    }
    const left = options.timeoutMs - (clock.now() - start);
    if (left <= 0) continue;
    await clock.sleep(Math.min(delay, left));
    delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
  }
}
