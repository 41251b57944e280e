import { describe, expect, it } from 'vitest';
import { INPUT_DEFAULTS, parseInputs } from '../inputs/inputs.js';

const parse = (given: Record<string, string>) => parseInputs((n) => ({ ...INPUT_DEFAULTS, 'job-status': 'success', ...given })[n] ?? '');

describe('cache-volumes', () => {
  it('is off by default and on only when asked, for data-root', () => {
    expect(parse({ cache: 'data-root' }).cache?.volumes).toBeUndefined();
    expect(parse({ cache: 'data-root', 'cache-volumes': 'true' }).cache?.volumes).toBe(true);
  });
  it('names the input, the value and the remedy when it cannot apply', () => {
    expect(() => parse({ cache: 'images', 'cache-volumes': 'true' })).toThrow(/input "cache-volumes": true .* but cache is images; set cache: data-root/);
    expect(() => parse({ 'cache-volumes': 'true' })).toThrow(/input "cache-volumes": "?true"? has no effect while cache is false/);
    expect(() => parse({ cache: 'data-root', 'cache-volumes': 'sometimes' })).toThrow(/input "cache-volumes": "sometimes" is not a boolean/);
  });
});

describe('cache-build-size', () => {
  it('is 1 GiB of build cache by default, any size, or 0 for none; only with data-root', () => {
    expect(parse({ cache: 'data-root' }).cache?.buildCacheBytes).toBe(1024 ** 3);
    expect(parse({ cache: 'data-root', 'cache-build-size': '5G' }).cache?.buildCacheBytes).toBe(5 * 1024 ** 3);
    expect(parse({ cache: 'data-root', 'cache-build-size': '0' }).cache?.buildCacheBytes).toBe(0);
    expect(parse({ cache: 'images' }).cache?.buildCacheBytes).toBeUndefined();
    expect(() => parse({ cache: 'data-root', 'cache-build-size': 'lots' })).toThrow(/input "cache-build-size": "lots" is not a size; use 0 \(keep no build cache\)/);
    expect(() => parse({ cache: 'images', 'cache-build-size': '2G' })).toThrow(/input "cache-build-size": "?2G"? sets the build cache a data-root snapshot keeps, but cache is images/);
    expect(() => parse({ 'cache-build-size': '2G' })).toThrow(/input "cache-build-size": "?2G"? has no effect while cache is false/);
  });
});
