// Runs as the end-to-end stage (it creates a system user, which scripts/test.sh removes when the run ends).
import { promises as fsp } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeEnv, fakeJobs, reportOf } from './fake-action.js';
import { ensureUser, testUserName } from './runner.js';

const USER = testUserName('sdharness');

const { job, cleanAll } = fakeJobs();
afterAll(cleanAll);

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('user option (root only)', () => {
  it('runs every process as the user, with its groups, and gives it the runner dirs', async () => {
    await ensureUser(USER, ['docker']);
    await ensureUser(USER, ['docker']); // idempotent
    const r = await job({
      user: USER,
      actionEnv: fakeEnv({ main: { env: { FAKE_VAR_U: 'u' } } }),
      steps: [
        {
          id: 'who',
          run: [
            'echo "uid=$(id -u)" >> "$GITHUB_OUTPUT"',
            'echo "user=$(id -un)" >> "$GITHUB_OUTPUT"',
            'echo "home=$HOME" >> "$GITHUB_OUTPUT"',
            'echo "groups=$(id -nG)" >> "$GITHUB_OUTPUT"',
            'touch "$RUNNER_TEMP/made-by-step"',
            'touch "$GITHUB_WORKSPACE/in-workspace"',
          ].join('\n'),
        },
      ],
    });
    expect(r.jobStatus).toBe('success');
    const who = r.phase('who')!.outputs;
    expect(who.uid).not.toBe('0');
    expect(who.user).toBe(USER);
    expect(who.home).toBe(`/home/${USER}`);
    expect(who.groups!.split(' ')).toContain('docker'); // supplementary groups apply (--init-groups)
    expect(reportOf(r.phase('main')!.stdout).uid).toBe(Number(who.uid));
    const st = await fsp.stat(`${r.runnerTemp}/made-by-step`);
    expect(st.uid).toBe(Number(who.uid));
    expect((await fsp.stat(r.runnerTemp)).uid).toBe(Number(who.uid));
    expect((await fsp.stat(r.workspace)).uid).toBe(Number(who.uid));
  });
});
