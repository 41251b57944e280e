import { describe, expect, it } from 'vitest';
import type { DaemonVersion } from './client.js';
import { type Clock, NotReadyError, waitUntilReady } from './readiness.js';

const VERSION: DaemonVersion = { version: '27.0.0', apiVersion: '1.46', os: 'linux', arch: 'amd64' };

/** A clock that only moves when the code under test sleeps or a probe takes time. */
function fakeClock(): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => void (now += ms),
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('waitUntilReady', () => {
  it('returns at the first answer, with backoff from tens of ms up to 1 s between attempts', async () => {
    const clock = fakeClock();
    let calls = 0;
    const ready = await waitUntilReady({
      target: 'the daemon',
      timeoutMs: 60_000,
      clock,
      probe: async () => {
        if (++calls < 12) throw new Error('connect ENOENT');
        return VERSION;
      },
    });
    expect(ready.attempts).toBe(12);
    expect(ready.version).toBe(VERSION);
    expect(clock.sleeps[0]).toBe(20);
    expect(clock.sleeps[1]).toBe(30);
    expect(Math.max(...clock.sleeps)).toBe(1000);
    for (let i = 1; i < clock.sleeps.length; i++) expect(clock.sleeps[i]!).toBeGreaterThanOrEqual(clock.sleeps[i - 1]!);
  });

  it('gives each probe its own short timeout, never more than what is left', async () => {
    const clock = fakeClock();
    const timeouts: number[] = [];
    await expect(
      waitUntilReady({
        target: 'the daemon at tcp://x:1',
        timeoutMs: 3000,
        clock,
        probe: async (ms) => {
          timeouts.push(ms);
          clock.advance(ms);
          throw new Error('socket hang up');
        },
      }),
    ).rejects.toThrow(NotReadyError);
    expect(timeouts[0]).toBe(2000);
    expect(timeouts.every((t) => t <= 2000)).toBe(true);
    expect(clock.now()).toBeLessThanOrEqual(3000 + 50);
  });

  it('fails at the timeout naming the target, the wait and the last error', async () => {
    const clock = fakeClock();
    const error = await waitUntilReady({
      target: 'the external daemon at unix:///nope.sock',
      timeoutMs: 5000,
      clock,
      probe: async () => {
        throw Object.assign(new Error('connect ENOENT /nope.sock'), { code: 'ENOENT' });
      },
    }).then(
      () => expect.fail('expected the wait to fail'),
      (e: unknown) => e as NotReadyError,
    );
    expect(error).toBeInstanceOf(NotReadyError);
    expect(error.message).toMatch(/the external daemon at unix:\/\/\/nope.sock did not answer within 5.0 s \(\d+ attempts\); last error: connect ENOENT \/nope.sock/);
    expect(clock.now()).toBeGreaterThanOrEqual(5000);
    expect(clock.now()).toBeLessThan(5100);
  });

  it('counts time spent before the first probe (startedAt) and still names the wait-timeout as set', async () => {
    const clock = fakeClock();
    const startedAt = clock.now();
    clock.advance(1200); // attaching to the daemon took a while
    const error = await waitUntilReady({
      target: 'the dind daemon',
      timeoutMs: 5000,
      startedAt,
      clock,
      probe: async () => {
        throw new Error('connect ENOENT');
      },
    }).then(
      () => expect.fail('expected the wait to fail'),
      (e: unknown) => e as NotReadyError,
    );
    expect(error.message).toContain('did not answer within 5.0 s');
    expect(error.elapsedMs).toBeGreaterThanOrEqual(5000);
    expect(clock.now() - startedAt).toBeLessThan(5100);
  });

  it('stops at once when the daemon cannot come up any more', async () => {
    const clock = fakeClock();
    let checks = 0;
    const error = await waitUntilReady({
      target: 'the dind daemon',
      timeoutMs: 60_000,
      clock,
      probe: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      giveUp: async () => (++checks >= 3 ? 'its container exited with code 1' : undefined),
    }).then(
      () => expect.fail('expected the wait to fail'),
      (e: unknown) => e as NotReadyError,
    );
    expect(error.message).toMatch(/will not become ready: its container exited with code 1/);
    expect(clock.now()).toBeLessThan(1000);
  });
});
