import { describe, expect, it } from 'vitest';
import { changedSince, restartNotice, startDigests, unsupportedPlatform } from './guards.js';
import { memoryPlatform } from '../platform/memory.js';
import { runMain, runPost, runPre } from '../phases.js';

describe('unsupportedPlatform', () => {
  it('says what is wrong and what to do, once, in every phase', async () => {
    expect(unsupportedPlatform('linux')).toBeUndefined();
    expect(unsupportedPlatform('darwin')).toMatch(/Linux runners only, and this runner is macOS.*runs-on: ubuntu-latest/);
    expect(unsupportedPlatform('win32')).toMatch(/this runner is Windows/);
    for (const phase of [runPre, runMain]) {
      const platform = memoryPlatform({ inputs: { mode: 'dind' } });
      await phase(platform, { os: 'win32' });
      expect(platform.failed).toBe(unsupportedPlatform('win32'));
      expect(platform.stateValues.size).toBe(0);
    }
    const platform = memoryPlatform();
    await runPost(platform, { os: 'darwin' });
    expect(platform.failed).toBeUndefined();
    expect(platform.messages).toEqual([{ level: 'warning', text: unsupportedPlatform('darwin') }]);
  });
});

describe('inputs that differ between pre and main', () => {
  const at = (inputs: Record<string, string>, env: Record<string, string> = {}) => startDigests(memoryPlatform({ inputs, env }));

  it('names the inputs and environment variables that changed, never their values', () => {
    const pre = at({ image: '', network: 'n', 'wait-timeout': '60', 'registry-certs': 'secret-key' }, { HTTPS_PROXY: '' });
    const main = at({ image: 'docker:29-dind', network: 'n', 'wait-timeout': '5', 'registry-certs': 'secret-key' }, { HTTPS_PROXY: 'http://p:3128' });
    expect(changedSince(pre, main)).toEqual(['image', 'env HTTPS_PROXY']);
    expect(JSON.stringify(pre)).not.toContain('secret-key');
    expect(changedSince(pre, pre)).toEqual([]);
    expect(changedSince(undefined, main)).toEqual([]);
    const notice = restartNotice(['image', 'env HTTPS_PROXY']);
    expect(notice).toMatch(/input "image" and the environment variable HTTPS_PROXY had a different value when pre started the daemon/);
    expect(notice).toMatch(/removed and started again with the values main sees; the head start of pre is lost/);
  });
});
