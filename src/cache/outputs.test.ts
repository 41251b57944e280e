import { describe, expect, it } from 'vitest';
import { cacheOutputs } from './outputs.js';

describe('cacheOutputs', () => {
  it('cache-hit is true only for the exact key', () => {
    expect(cacheOutputs({ hit: 'true', key: 'k-2', restoredKey: 'k-2' })).toEqual({ 'cache-hit': 'true', 'cache-matched-key': 'k-2', 'cache-key': 'k-2' });
  });
  it('a restore key match is cache-hit false with the matched key', () => {
    expect(cacheOutputs({ hit: 'partial', key: 'k-2', restoredKey: 'k-1' })).toEqual({ 'cache-hit': 'false', 'cache-matched-key': 'k-1', 'cache-key': 'k-2' });
  });
  it('a miss, and no cache at all, are false with empty keys where nothing is known', () => {
    expect(cacheOutputs({ hit: 'false', key: 'k-2' })).toEqual({ 'cache-hit': 'false', 'cache-matched-key': '', 'cache-key': 'k-2' });
    expect(cacheOutputs(undefined)).toEqual({ 'cache-hit': 'false', 'cache-matched-key': '', 'cache-key': '' });
  });
  it('never says partial', () => {
    for (const hit of ['true', 'partial', 'false'] as const) expect(['true', 'false']).toContain(cacheOutputs({ hit, key: 'k' })['cache-hit']);
  });
});
