import { describe, expect, it } from 'vitest';
import { memoryPlatform } from './platform/memory.js';
import { newSessionId, sessionLabels, LABEL_SESSION } from './session/session.js';
import { StateRecorder } from './state.js';

describe('StateRecorder', () => {
  it('saves every update at once, so a later process sees the latest record', () => {
    const platform = memoryPlatform();
    const first = new StateRecorder(platform.state);
    expect(first.value).toBeUndefined();
    first.begin({ session: 's', mode: 'dind' });
    first.update({ volume: 'v' });
    const second = new StateRecorder(platform.state);
    expect(second.value).toEqual({ session: 's', mode: 'dind', volume: 'v' });
    second.update({ containerId: 'c' });
    expect(new StateRecorder(platform.state).value).toEqual({ session: 's', mode: 'dind', volume: 'v', containerId: 'c' });
  });
  it('says clearly when the saved state is not ours', () => {
    const platform = memoryPlatform();
    platform.state.set('setup-dind', '{oops');
    expect(() => new StateRecorder(platform.state)).toThrow(/saved state of an earlier phase is not valid JSON/);
  });
});

describe('session ids', () => {
  it('are readable, safe as object names and unique per call', () => {
    const job = { runId: '123', runAttempt: '2', job: 'Build (ubuntu, 3.12)', name: 'build', matrix: '', ref: { name: 'main', protected: false, fallbacks: [] }, tempDir: '/t', workspace: '/w' };
    const a = newSessionId(job);
    const b = newSessionId(job);
    expect(a).toMatch(/^123-2-build-ubuntu-3-12-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(sessionLabels(a, job, new Date(0))).toEqual({
      [LABEL_SESSION]: a,
      'io.github.setup-dind.created': '1970-01-01T00:00:00.000Z',
      'io.github.setup-dind.job': '123/2/Build (ubuntu, 3.12)',
    });
  });
});
