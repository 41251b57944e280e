import { describe, expect, it } from 'vitest';
import { DeadlineError, cacheDeadlineMs, withDeadline } from './cache.js';

describe('cache deadlines', () => {
  it('gives up on work that does not finish in time, and passes results through', async () => {
    await expect(withDeadline(new Promise(() => {}), 20, 'saving to the service')).rejects.toThrow(DeadlineError);
    await expect(withDeadline(new Promise(() => {}), 20, 'saving to the service')).rejects.toThrow(/saving to the service did not finish within 0 s/);
    await expect(withDeadline(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });
  it('reads SETUP_DIND_CACHE_TIMEOUT_SECONDS, 10 minutes otherwise', () => {
    expect(cacheDeadlineMs({})).toBe(600_000);
    expect(cacheDeadlineMs({ SETUP_DIND_CACHE_TIMEOUT_SECONDS: '5' })).toBe(5000);
    expect(cacheDeadlineMs({ SETUP_DIND_CACHE_TIMEOUT_SECONDS: 'soon' })).toBe(600_000);
  });
});
