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
