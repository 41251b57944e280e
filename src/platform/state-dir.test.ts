import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCli, runCli } from '../cli.js';
import { StateDirError, ensureStateDir, stateDirProblem, usableRuntimeDir } from './state-dir.js';

const root = mkdtempSync(join(tmpdir(), 'state-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const asRoot = process.getuid?.() === 0;

function capture() {
  const lines: string[] = [];
  return { lines, out: (t: string) => void lines.push(t) };
}

describe('the CLI state directory', () => {
  it('is created 0700 when missing, and an existing private one of ours is used', () => {
    const dir = join(root, 'fresh', 'state');
    ensureStateDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    ensureStateDir(dir);
  });

  it('refuses a symlink, a group- or world-writable directory, and a file', () => {
    const target = join(root, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(root, 'link');
    symlinkSync(target, link);
    expect(() => ensureStateDir(link)).toThrow(StateDirError);
    expect(stateDirProblem(link)).toBe('is a symbolic link');
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(stateDirProblem(open)).toBe('is writable by its group and other users (mode 0777)');
    chmodSync(open, 0o1703);
    expect(stateDirProblem(open)).toMatch(/^is writable by other users/);
    const file = join(root, 'file');
    writeFileSync(file, '');
    expect(stateDirProblem(file)).toBe('exists and is not a directory');
  });

  it.skipIf(!asRoot)("refuses a directory another user created, and `env` does not print what it holds", async () => {
    const planted = join(root, 'planted');
    mkdirSync(planted, { mode: 0o700 });
    writeFileSync(join(planted, 'state.json'), JSON.stringify({ 'exported-env': JSON.stringify({ DOCKER_HOST: "x'; touch /tmp/pwned; '" }) }));
    chownSync(planted, 65534, 65534);
    expect(stateDirProblem(planted)).toBe(`belongs to uid 65534, not to this user (uid 0)`);
    for (const command of ['env', 'stop', 'start']) {
      const c = capture();
      expect(await runCli([command, '--state-dir', planted], {}, c.out, c.out), command).toBe(1);
      expect(c.lines.join('\n')).toMatch(new RegExp(`the state directory ${planted} belongs to uid 65534.*Remove it, or give a directory of your own with --state-dir`));
      expect(c.lines.join('\n')).not.toContain('pwned');
    }
    expect(readdirSync(planted)).toEqual(['state.json']); // stop removed nothing of someone else's
  });

  it("uses XDG_RUNTIME_DIR when it is a private directory of ours, else the temporary directory", () => {
    const runtime = join(root, 'run-user');
    mkdirSync(runtime, { mode: 0o700 });
    expect(usableRuntimeDir({ XDG_RUNTIME_DIR: runtime })).toBe(runtime);
    expect(parseCli(['start'], { XDG_RUNTIME_DIR: runtime, CI_JOB_ID: '9' }).stateDir).toBe(join(runtime, 'setup-dind-9'));
    chmodSync(runtime, 0o755);
    expect(usableRuntimeDir({ XDG_RUNTIME_DIR: runtime })).toBeUndefined();
    expect(usableRuntimeDir({ XDG_RUNTIME_DIR: 'relative' })).toBeUndefined();
    expect(usableRuntimeDir({ XDG_RUNTIME_DIR: join(root, 'missing') })).toBeUndefined();
    expect(parseCli(['start'], { XDG_RUNTIME_DIR: runtime, CI_JOB_ID: '9' }).stateDir).toBe(join(tmpdir(), 'setup-dind-9'));
  });
});
