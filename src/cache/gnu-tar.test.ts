import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLdd, runnerTar, TAR_DIR } from './gnu-tar.js';

const root = mkdtempSync(join(tmpdir(), 'sd-gnu-tar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the runner's GNU tar for the snapshot scripts", () => {
  it("reads ldd's list: libraries by soname, the loader apart, the vDSO left out", () => {
    const { libs, loader } = parseLdd(`\tlinux-vdso.so.1 (0x00007ffd)\n\tlibacl.so.1 => /lib/x86_64-linux-gnu/libacl.so.1 (0x00007f9a315bd000)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9a313ad000)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f9a3165e000)\n`);
    expect([...libs]).toEqual([['libacl.so.1', '/lib/x86_64-linux-gnu/libacl.so.1'], ['libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6']]);
    expect(loader).toBe('/lib64/ld-linux-x86-64.so.2');
  });

  it('copies tar, its libraries and its loader into the job directory; the command runs there with nothing else (empty environment)', async () => {
    const job = join(root, 'job1');
    execFileSync('mkdir', ['-p', job]);
    const tar = await runnerTar(job, '/run/setup-dind');
    expect(tar).toEqual({ command: expect.stringMatching(/^\/run\/setup-dind\/gnu-tar\/ld-[^ ]+ --library-path \/run\/setup-dind\/gnu-tar \/run\/setup-dind\/gnu-tar\/tar$/) });
    // As a container runs it: the words, with the job directory where the container sees it (here: where it is).
    const words = (tar as { command: string }).command.replaceAll('/run/setup-dind', job).split(' ');
    const version = execFileSync(words[0]!, [...words.slice(1), '--version'], { env: {}, encoding: 'utf8' });
    expect(version).toMatch(/GNU tar/);
    // Once per job: a second call finds it made.
    expect(await runnerTar(job, '/run/setup-dind')).toEqual(tar);
  });

  it('a runner without GNU tar, or without ldd: the reason, and no copy left behind', async () => {
    const job = join(root, 'job2');
    execFileSync('mkdir', ['-p', job]);
    const busybox = { path: ['/nowhere'], run: async (file: string) => (file.endsWith('tar') ? { stdout: 'tar (busybox) 1.36\n' } : Promise.reject(new Error('no'))) };
    expect(await runnerTar(job, '/run/setup-dind', busybox)).toEqual({ problem: 'the runner has no GNU tar with --xattrs on PATH' });
    const noLdd = {
      path: ['/usr/bin'],
      run: async (file: string, args: string[]) => {
        if (file === 'ldd') throw Object.assign(new Error('spawn ldd ENOENT'), { stdout: '', stderr: '' });
        return { stdout: args[0] === '--version' ? 'tar (GNU tar) 1.34\n' : '--xattrs\n' };
      },
    };
    expect(await runnerTar(job, '/run/setup-dind', noLdd)).toEqual({ problem: expect.stringMatching(/^ldd could not list the libraries of \S+ \(spawn ldd ENOENT\)$/) });
    expect(() => execFileSync('ls', [join(job, TAR_DIR)], { stdio: 'ignore' })).toThrow();
  });
});
