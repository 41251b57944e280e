// The setup-dind CLI end to end (GitLab CI and plain shells): start, env, a container, stop — in separate
// processes, as GitLab's before_script, script and after_script are — leaving nothing behind.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot, runnerEnv } from './support.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'sd-cli-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CLI = join(repoRoot, 'dist', 'cli', 'index.js');

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(actionNode(), [CLI, ...args], { env: { PATH: process.env.PATH!, ...runnerEnv(), DOCKER_HOST: outerHost(), ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('setup-dind CLI', () => {
  it('start, env, a nested container, stop: in separate processes, like GitLab before_script / script / after_script', async () => {
    const before = await picture([work]);
    const stateDir = join(work, 'state');
    const gitlab = { GITLAB_CI: 'true', CI_JOB_ID: '4242', CI_PIPELINE_ID: '99', SETUP_DIND_IMAGE: DIND_IMAGE, SETUP_DIND_STATE_DIR: stateDir };
    const start = await cli(['start', '--wait-timeout', '30'], gitlab);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.stdout).toMatch(/is ready/);
    const env = await cli(['env'], gitlab);
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/^export DOCKER_HOST='unix:\/\/.*\/docker.sock'$/m);
    const dotenv = readFileSync(join(stateDir, 'setup-dind.env'), 'utf8');
    expect(dotenv).toMatch(/^DOCKER_HOST=unix:\/\//m);
    const script = `eval "$(node ${CLI} env)" && docker -H "$OUTER" save ${BUSYBOX} | docker load -q && docker run --rm ${BUSYBOX} echo from-the-cli-daemon`;
    const { stdout } = await run('bash', ['-c', script], { env: { ...process.env, ...gitlab, PATH: `${join(actionNode(), '..')}:${process.env.PATH}`, OUTER: outerHost(), DOCKER_HOST: outerHost() } });
    expect(stdout).toContain('from-the-cli-daemon');
    const stop = await cli(['stop'], { ...gitlab, CI_JOB_STATUS: 'failed' });
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/section_start:\d+:setup_dind_\d+_\d+\[collapsed=true\]\r\u001b\[0KDocker daemon log/);
    expect(stop.stdout).toMatch(/removed container setup-dind-99-1-4242-/);
    // stop removes its own state, dotenv file and summary: nothing of ours is left in the work directory
    await expectNothingLeft(before);
  });

  it('wait: uses TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH like the docker CLI', async () => {
    const stateDir = join(work, 'tls-daemon');
    const start = await cli(['start', '--state-dir', stateDir, '--image', DIND_IMAGE, '--tcp', 'true']);
    expect(start.code, start.stderr).toBe(0);
    try {
      const env = Object.fromEntries((await cli(['env', '--format', 'dotenv', '--state-dir', stateDir])).stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(env.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const waited = await cli(['wait', '--state-dir', join(work, 'tls-wait'), '--wait-timeout', '10'], env);
      expect(waited.code, waited.stdout + waited.stderr).toBe(0);
      // A service writes its client certificates only once it runs: wait looks for them until wait-timeout.
      const late = join(work, 'late-certs');
      const appear = setTimeout(() => symlinkSync(env.DOCKER_CERT_PATH!, late), 1500);
      const waitedLate = await cli(['wait', '--state-dir', join(work, 'tls-wait-late'), '--wait-timeout', '10'], { ...env, DOCKER_CERT_PATH: late });
      clearTimeout(appear);
      expect(waitedLate.code, waitedLate.stdout + waitedLate.stderr).toBe(0);
      const never = await cli(['wait', '--state-dir', join(work, 'tls-wait-never'), '--wait-timeout', '1'], { ...env, DOCKER_CERT_PATH: join(work, 'no-certs') });
      expect(never.code).toBe(1);
      expect(never.stderr).toMatch(/no-certs" does not exist; give the directory that holds ca.pem, cert.pem and key.pem \(waited 1.0 s for them to appear\)/);
    } finally {
      expect((await cli(['stop', '--state-dir', stateDir])).code).toBe(0);
    }
  });

  it('wait: waits for DOCKER_HOST to really answer, and fails in time naming it', async () => {
    const ok = await cli(['wait', '--state-dir', join(work, 'w1')]);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await cli(['wait', '--state-dir', join(work, 'w2'), '--wait-timeout', '2'], { DOCKER_HOST: 'unix:///var/tmp/setup-dind-none.sock' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unix:\/\/\/var\/tmp\/setup-dind-none.sock did not answer within 2.0 s/);
  });

  it('bad usage exits 2; invalid inputs exit 1 and start nothing', async () => {
    expect((await cli(['begin'])).code).toBe(2);
    const before = await picture();
    const bad = await cli(['start', '--state-dir', join(work, 'bad'), '--registry-mirrors', 'http://m.test']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/input "registry-mirrors"/);
    expect(readdirSync(join(work, 'bad')).filter((f) => f.startsWith('setup-dind-'))).toEqual([]);
    // A state directory so deep that the socket path would not fit a unix socket address: a clear error, at once.
    const deep = join(work, 'd'.repeat(60), 'e'.repeat(40));
    const long = await cli(['start', '--state-dir', deep, '--image', DIND_IMAGE]);
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/longer than unix sockets allow \(107\); use a shorter temporary directory/);
    await cli(['stop', '--state-dir', deep]);
    await expectNothingLeft(before);
  });

  it('cache-dir by ref: a protected ref never restores an unprotected entry; a branch restores its protected default branch\'s', async () => {
    // Socket mode (the bed's daemon, no dind to boot): each pipeline saves busybox under its ref (cache-save always).
    const before = await picture();
    const cacheDir = join(work, 'by-ref');
    const pipeline = async (id: number, ref: string, isProtected: boolean) => {
      const env = {
        GITLAB_CI: 'true', CI_JOB_ID: `r${id}`, CI_JOB_NAME: 'build', CI_PIPELINE_ID: String(id), CI_COMMIT_REF_NAME: ref,
        CI_COMMIT_REF_PROTECTED: String(isProtected), CI_DEFAULT_BRANCH: 'main', SETUP_DIND_STATE_DIR: join(work, `ref-${id}`),
        SETUP_DIND_MODE: 'socket', SETUP_DIND_CACHE: 'images', SETUP_DIND_CACHE_DIR: cacheDir, SETUP_DIND_CACHE_IMAGES: BUSYBOX, SETUP_DIND_CACHE_SAVE: 'always',
      };
      const start = await cli(['start'], env);
      const stop = await cli(['stop'], { ...env, CI_JOB_STATUS: 'success' });
      expect(start.code, start.stdout + start.stderr).toBe(0);
      expect(stop.code, stop.stdout + stop.stderr).toBe(0);
      return { start: start.stdout + start.stderr, stop: stop.stdout + stop.stderr };
    };
    const feature = await pipeline(801, 'feature/x', false);
    expect(feature.stop).toMatch(/setup-dind cache: saved \S+_build_none_801-1 /);
    expect(readdirSync(join(cacheDir, 'unprotected', 'feature%2Fx'))).toHaveLength(1);
    // main (protected) finds the feature branch's entry under its own prefix, and must not take it.
    const main = await pipeline(802, 'main', true);
    expect(main.start).toMatch(/setup-dind cache: no entry for/);
    expect(main.stop).toMatch(/saved \S+_build_none_802-1 /);
    // Another unprotected branch: not feature/x's entry, but main's protected one.
    const other = await pipeline(803, 'other', false);
    expect(other.start).toMatch(/setup-dind cache: restored \S+_build_none_802-1 /);
    expect(readdirSync(join(cacheDir, 'protected', 'main'))).toHaveLength(1);
    await expectNothingLeft(before);
  });
});
