// Faults and abuse, end to end on the bed's engine: daemons that never get ready or die mid-job, an engine that goes
// away before post, post twice, cancelled and interrupted jobs, a failing neighbour job, leftovers of crashed jobs,
// shell metacharacters in inputs, the per-job directory's permissions and the socket's owner, a cache service that
// stalls. Every case asserts a clear message and an engine (and RUNNER_TEMP) holding nothing of the job's afterwards.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerHost } from '../../src/endpoint/endpoint.js';
import { EngineClient } from '../../src/engine/client.js';
import { LABEL_CREATED, LABEL_SESSION } from '../../src/session/session.js';
import { generateTls } from '../../src/endpoint/tls.js';
import { type TestCacheServer, startCacheServer } from '../cache-server/server.js';
import { ensureUser, testUserName, type JobResult, runJob, type RunJobOptions } from '../harness/runner.js';
import { actionNode, BUSYBOX, DIND_IMAGE, dindJob, docker, expectNothingLeft, outerEngine, outerHost, picture, repoRoot, run } from './support.js';

const RUNNER_USER = testUserName('sdrunner');
const OTHER_USER = testUserName('sdother');
/** dockerd is a script that logs one line and sleeps: no socket ever appears. */
const HANG_IMAGE = 'local/dind-hang:fault';
/** dockerd is a script that accepts TCP connections on 2376 and never says a word (no TLS handshake, no HTTP). */
const MUTE_IMAGE = 'local/dind-mute:fault';

// Short names: a runner root under it holds the job's socket path, which a unix socket address limits to 107 bytes.
const work = mkdtempSync(join(tmpdir(), 'sdf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));


/** What of ours is in RUNNER_TEMP (the per-job directory is setup-dind-<session>). */
const oursIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('setup-dind')) : []);

async function expectClean(before: Awaited<ReturnType<typeof picture>>, ...jobs: JobResult[]): Promise<void> {
  await expectNothingLeft(before);
  for (const job of jobs) expect(oursIn(job.runnerTemp), `RUNNER_TEMP of ${job.rootDir}`).toEqual([]);
}

/** The annotations a phase raised at a level (::error:: from core.setFailed, ::warning::). */
const annotations = (job: JobResult, phase: string, level: 'error' | 'warning') =>
  job.annotations.filter((a) => a.phase === phase && a.level === level).map((a) => a.message);

/**
 * Runs the action's post again, with the environment the runner gave the first post (same inputs, same STATE_*),
 * but fresh file-command files, as the runner would. Post is allowed to run twice (a re-run, a retried runner).
 * Asynchronous: a test server in this process (the cache service) must keep answering meanwhile.
 */
async function runPostAgain(job: JobResult): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const env = { ...job.phase('post')!.env };
  const files = mkdtempSync(join(work, 'post-again-'));
  for (const name of ['GITHUB_STATE', 'GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
    env[name] = join(files, name.toLowerCase());
    writeFileSync(env[name], '');
  }
  const started = performance.now();
  const child = spawn(actionNode(), [join(repoRoot, 'dist', 'post', 'index.js')], { env, cwd: job.workspace, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - started };
}

async function buildImage(tag: string, dockerfile: string): Promise<void> {
  if ((await docker(['images', '-q', tag])).trim()) return;
  const built = spawnSync('docker', ['build', '-q', '-t', tag, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  if (built.status !== 0) throw new Error(`building ${tag} failed: ${built.stderr}`);
}

const dockerdScript = (lines: string[]) =>
  `FROM ${BUSYBOX}\nRUN printf '${['#!/bin/sh', ...lines].join('\\n')}\\n' > /bin/dockerd && chmod +x /bin/dockerd\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await ensureUser(RUNNER_USER, ['docker']);
  await ensureUser(OTHER_USER, []);
  await buildImage(HANG_IMAGE, dockerdScript(['echo "dockerd (fault image): hanging on purpose, no socket will appear"', 'exec sleep 999d']));
  await buildImage(MUTE_IMAGE, dockerdScript(['echo "dockerd (fault image): listening on 2376, never answering"', 'exec nc -ll -p 2376 -e sleep 999d']));
});

describe('a daemon that never becomes ready', () => {
  // (A daemon whose process exits at once is covered by dind.test.ts.)
  it('hangs without ever creating its socket: main fails within wait-timeout with its log, post cleans up', async () => {
    const before = await picture();
    const job = await dindJob({ with: { image: HANG_IMAGE, 'wait-timeout': '5' }, steps: [{ name: 'never', run: 'true' }] });
    try {
      expect(job.jobStatus).toBe('failure');
      const main = job.phase('main')!;
      expect(main.exitCode).toBe(1);
      expect(main.durationMs).toBeGreaterThanOrEqual(4900);
      expect(main.durationMs).toBeLessThan(5000 + 4000);
      const [error] = annotations(job, 'main', 'error');
      expect(error).toMatch(/the dind daemon at unix:\/\/.*\/docker\.sock did not answer within 5\.0 s/);
      expect(error).toMatch(/Last lines of the daemon's log:\n.*hanging on purpose, no socket will appear/);
      expect(job.phase('never')!.ran).toBe(false);
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toMatch(/::group::Docker daemon log \(the job status is failure\)/);
      expect(post.stdout).toMatch(/removed container setup-dind-/);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });

  it('accepts TCP connections but never answers (tcp: true): main fails within wait-timeout with its log, post cleans up', async () => {
    const before = await picture();
    const job = await dindJob({ with: { image: MUTE_IMAGE, tcp: 'true', 'wait-timeout': '5' }, steps: [{ name: 'never', run: 'true' }] });
    try {
      expect(job.jobStatus).toBe('failure');
      const main = job.phase('main')!;
      expect(main.exitCode).toBe(1);
      expect(main.durationMs).toBeGreaterThanOrEqual(4900);
      expect(main.durationMs).toBeLessThan(5000 + 4000);
      const [error] = annotations(job, 'main', 'error');
      expect(error).toMatch(/the dind daemon at tcp:\/\/127\.0\.0\.1:\d+ did not answer within 5\.0 s/);
      // The port was open: the probes timed out waiting for an answer rather than being refused.
      expect(error).not.toMatch(/last error: [^\n]*ECONNREFUSED/);
      expect(error).toMatch(/Last lines of the daemon's log:\n.*listening on 2376, never answering/);
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toMatch(/removed container setup-dind-/);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });
});

describe('the daemon dies in the middle of the job', () => {
  it('a later step fails with the CLI saying so; post prints the daemon log and removes everything', async () => {
    const before = await picture();
    const job = await dindJob({
      steps: [
        { name: 'works', run: 'docker version --format "{{.Server.Version}}"' },
        { name: 'kill', env: { CID: '${{ steps.action.outputs.container-id }}' }, run: 'docker -H "$OUTER" kill "$CID" >/dev/null && echo "killed $CID"' },
        { name: 'after', run: 'docker version --format "{{.Server.Version}}"' },
      ],
    });
    try {
      expect(job.jobStatus).toBe('failure');
      expect(job.phase('works')!.outcome).toBe('success');
      expect(job.phase('kill')!.stdout).toContain(`killed ${job.outputs['container-id']}`);
      const after = job.phase('after')!;
      expect(after.outcome).toBe('failure');
      expect(after.stderr).toMatch(/Cannot connect to the Docker daemon at unix:\/\/.*\/docker\.sock|connect: (connection refused|no such file)/);
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toMatch(/::group::Docker daemon log \(the job status is failure\)/);
      expect(post.stdout).toMatch(/API listen on \/run\/setup-dind\/daemon\.sock/);
      expect(post.stdout).toMatch(/removed container setup-dind-[^,]+, volume setup-dind-/);
      expect(annotations(job, 'post', 'warning')).toEqual([]);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });
});

// A throwaway engine of our own (the bed's must stay up for everyone): its own network namespace, data root, exec
// root and socket, under this run's temporary root (removed with it).
const THROWAWAY = join(tmpdir(), 'sd-faults-outer');
const THROWAWAY_HOST = `unix://${THROWAWAY}/docker.sock`;

interface Throwaway {
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startThrowaway(): Promise<Throwaway> {
  mkdirSync(THROWAWAY, { recursive: true, mode: 0o700 });
  const log = openSync(join(THROWAWAY, 'dockerd.log'), 'a');
  const child = spawn('unshare', ['--net', '/usr/sbin/dockerd', '--host', THROWAWAY_HOST, '--data-root', join(THROWAWAY, 'data'),
    '--exec-root', join(THROWAWAY, 'exec'), '--pidfile', join(THROWAWAY, 'dockerd.pid'), '--bridge=none', '--iptables=false', '--ip6tables=false'],
  { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = once(child, 'exit').catch(() => undefined); // 'error' (no unshare) ends the wait below as well
  const engine = new EngineClient({ address: parseDockerHost(THROWAWAY_HOST) });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (await engine.version().then(() => true, () => false)) return { child, exited };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`the throwaway dockerd did not answer in 30 s:\n${readFileSync(join(THROWAWAY, 'dockerd.log'), 'utf8').slice(-3000)}`);
}

/** Stops it by its pid (SIGTERM, then SIGKILL after 20 s); a daemon that is gone already is fine. */
async function stopThrowaway(t: Throwaway | undefined): Promise<void> {
  if (!t || t.child.exitCode !== null || t.child.signalCode !== null) return;
  t.child.kill('SIGTERM');
  const timer = setTimeout(() => t.child.kill('SIGKILL'), 20_000);
  await t.exited;
  clearTimeout(timer);
}

describe('the outer engine goes away before post', () => {
  let daemon: Throwaway | undefined;
  afterAll(async () => {
    await stopThrowaway(daemon);
    rmSync(THROWAWAY, { recursive: true, force: true });
  });

  it('post finishes quickly with warnings; what is left is removed by post running again once the engine is back', async () => {
    daemon = await startThrowaway();
    const engine = new EngineClient({ address: parseDockerHost(THROWAWAY_HOST) });
    if (!(await engine.imageExists(DIND_IMAGE))) {
      await run('sh', ['-c', `docker -H "$BED" save ${DIND_IMAGE} | docker -H "$THROWAWAY" load -q`], { env: { ...process.env, BED: outerHost(), THROWAWAY: THROWAWAY_HOST } });
    }
    // Our private engine: whatever an earlier, interrupted run of this test left there goes first.
    const stale = await engine.listLabelled(LABEL_SESSION);
    for (const c of stale.containers) await engine.removeContainer(c.id);
    for (const v of stale.volumes) await engine.removeVolume(v.name);
    for (const n of stale.networks) await engine.removeNetwork(n.id);
    const beforeOuter = await engine.snapshot();
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: THROWAWAY_HOST, ENGINE_PID: String(daemon.child.pid) },
      with: { image: DIND_IMAGE },
      steps: [
        { name: 'works', run: 'docker version --format "{{.Server.Version}}"' },
        // The engine stops between the job's steps and post (its containers stop with it).
        { name: 'engine-stops', run: 'kill -TERM "$ENGINE_PID"; for i in $(seq 1 300); do kill -0 "$ENGINE_PID" 2>/dev/null || exit 0; sleep 0.1; done; exit 1' },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(daemon.child.exitCode !== null || daemon.child.signalCode !== null).toBe(true);
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.timedOut).toBe(false);
      expect(post.durationMs).toBeLessThan(5000);
      const warnings = annotations(job, 'post', 'warning');
      expect(warnings.join('\n')).toMatch(new RegExp(`Could not list this job's containers on ${THROWAWAY_HOST}: .*(ENOENT|ECONNREFUSED)`));
      // The per-job directory is the runner's, not the engine's: it is gone all the same.
      expect(oursIn(job.runnerTemp)).toEqual([]);
      await expectNothingLeft(before);

      // The engine is back (same data root): the daemon's container and volume are still there...
      daemon = await startThrowaway();
      const left = await engine.listLabelled(LABEL_SESSION);
      expect(left.containers.map((c) => c.name)).toEqual([expect.stringMatching(/^setup-dind-/)]);
      expect(left.volumes.map((v) => v.name)).toEqual([left.containers[0]!.name]);
      // ...until post runs again (same state): it removes them.
      const again = await runPostAgain(job);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain(`removed container ${left.containers[0]!.name}, volume ${left.volumes[0]!.name}`);
      expect(again.stdout).not.toMatch(/::warning::/);
      expect(await engine.snapshot()).toEqual(beforeOuter);
    } finally {
      await job.cleanup();
      await stopThrowaway(daemon);
    }
  });
});

describe('post', () => {
  it('runs twice: the second run is a no-op that exits 0', async () => {
    const before = await picture();
    const job = await dindJob({ steps: [{ name: 'ok', run: 'docker version --format "{{.Server.Version}}"' }] });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('post')!.stdout).toMatch(/removed container setup-dind-/);
      await expectClean(before, job);
      const again = await runPostAgain(job);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/::(warning|error)::/);
      // (It does say "removed directory …" for the directory the first post removed: rm with force never fails.)
      expect(again.stdout).not.toMatch(/removed (container|volume|network)/);
      expect(again.ms).toBeLessThan(5000);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });

  it('cleans up after a job cancelled after pre and before main (main never ran)', async () => {
    const before = await picture();
    const job = await dindJob({
      stepsBefore: [{ name: 'checkout', run: 'exec sleep 30' }],
      cancel: { afterMs: 1500, from: 'job' },
      steps: [{ name: 'never', run: 'true' }],
    });
    try {
      expect(job.jobStatus).toBe('cancelled');
      expect(job.phase('pre')!.outcome).toBe('success');
      expect(job.phase('main')!.ran).toBe(false);
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toMatch(/::group::Docker daemon log \(the job status is cancelled\)/);
      expect(post.stdout).toMatch(/removed container setup-dind-[^,]+, volume setup-dind-/);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`cleans up after main is interrupted by ${signal} while it waits; nothing is orphaned`, async () => {
      const before = await picture();
      const job = await dindJob({
        with: { image: HANG_IMAGE, 'wait-timeout': '60' },
        signalMainAfterMs: { signal, afterMs: 1500 },
        steps: [{ name: 'never', run: 'true' }],
      });
      try {
        const main = job.phase('main')!;
        expect(main.signalsSent).toEqual([signal]);
        expect(main.outcome).toBe('cancelled');
        expect(main.durationMs).toBeLessThan(5000);
        expect(job.jobStatus).toBe('cancelled');
        const post = job.phase('post')!;
        expect(post.exitCode).toBe(0);
        expect(post.stdout).toMatch(/hanging on purpose/); // the daemon's log: it never got ready
        expect(post.stdout).toMatch(/removed container setup-dind-[^,]+, volume setup-dind-/);
        expect(job.orphansKilled).toEqual([]);
        await expectClean(before, job);
      } finally {
        await job.cleanup();
      }
    });
  }
});

describe('two jobs at once on one engine, one of them failing', () => {
  it('the failing job leaves its neighbour untouched, and both leave nothing', async () => {
    const before = await picture();
    const sync = mkdtempSync(join(work, 'two-jobs-'));
    const setup = { name: 'setup', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q && docker create --name keep-me ${BUSYBOX} true >/dev/null` };
    const failing = dindJob({ runId: '7101', jobName: 'matrix', steps: [setup, { name: 'fails', run: 'exit 1' }] });
    const healthy = dindJob({
      runId: '7101',
      jobName: 'matrix',
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), SYNC: sync },
      steps: [
        setup,
        // Waits until the failing job is over (post included), then looks at its own daemon.
        { name: 'wait', run: 'for i in $(seq 1 900); do [ -f "$SYNC/failing-done" ] && exit 0; sleep 0.1; done; exit 1' },
        { name: 'check', run: `docker image inspect ${BUSYBOX} --format image-ok && docker inspect keep-me --format container-ok && docker run --rm ${BUSYBOX} echo runs-ok` },
      ],
    });
    const settled = await Promise.allSettled([failing.finally(() => writeFileSync(join(sync, 'failing-done'), '')), healthy]);
    const [a, b] = settled.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    if (!a || !b) {
      await Promise.all([a?.cleanup(), b?.cleanup()]);
      throw settled.find((r) => r.status === 'rejected')!.reason;
    }
    try {
      expect(a.jobStatus).toBe('failure');
      expect(a.phase('post')!.exitCode).toBe(0);
      expect(a.phase('post')!.stdout).toMatch(/removed container setup-dind-/);
      expect(await outerEngine().inspectContainer(a.outputs['container-id']!)).toBeUndefined();
      expect(b.jobStatus, b.log).toBe('success');
      expect(b.phase('check')!.stdout.split('\n')).toEqual(['image-ok', 'container-ok', 'runs-ok', '']);
      await expectClean(before, a, b);
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()]);
    }
  });
});

describe('leftovers of crashed jobs on a self-hosted runner (cleanup-stale)', () => {
  // 1d rather than 1s: the bed is shared, and other sessions' live objects are seconds to minutes old.
  const THRESHOLD = '1d';
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const old = `sd-fault-stale-old-${tag}`;
  const young = `sd-fault-stale-young-${tag}`;
  const undated = `sd-fault-stale-undated-${tag}`;

  async function fakeSession(name: string, created: string | undefined): Promise<void> {
    const labels = ['--label', `${LABEL_SESSION}=${name}`, ...(created ? ['--label', `${LABEL_CREATED}=${created}`] : [])];
    await docker(['volume', 'create', ...labels, name]);
    await docker(['network', 'create', '--internal', ...labels, name]);
    await docker(['run', '-d', '--init', '--name', name, '--network', name, '--mount', `type=volume,source=${name},target=/data`, ...labels, BUSYBOX, 'sleep', '999']);
  }
  const exists = async (name: string) => {
    const [c, v, n] = await Promise.all([
      docker(['ps', '-aq', '--filter', `name=^${name}$`]),
      docker(['volume', 'ls', '-q', '--filter', `name=^${name}$`]),
      docker(['network', 'ls', '-q', '--filter', `name=^${name}$`]),
    ]);
    return [Boolean(c.trim()), Boolean(v.trim()), Boolean(n.trim())];
  };
  async function removeFakes(): Promise<void> {
    for (const name of [old, young, undated]) {
      await docker(['rm', '-f', '-v', name]).catch(() => undefined);
      await docker(['volume', 'rm', '-f', name]).catch(() => undefined);
      await docker(['network', 'rm', name]).catch(() => undefined);
    }
  }

  it('reaps objects of other sessions older than the threshold only when asked, and never younger or undated ones', async () => {
    const before = await picture();
    try {
      await fakeSession(old, new Date(Date.now() - 2 * 86_400_000).toISOString());
      await fakeSession(young, new Date(Date.now() - 3_600_000).toISOString());
      await fakeSession(undated, undefined);

      const without = await dindJob({ steps: [{ name: 'ok', run: 'docker version >/dev/null' }] });
      try {
        expect(without.jobStatus, without.log).toBe('success');
        expect(without.log).not.toMatch(/cleanup-stale/);
      } finally {
        await without.cleanup();
      }
      for (const name of [old, young, undated]) expect(await exists(name), `${name} after a job without cleanup-stale`).toEqual([true, true, true]);

      const reaping = await dindJob({ with: { 'cleanup-stale': THRESHOLD }, steps: [{ name: 'ok', run: 'docker version >/dev/null' }] });
      try {
        expect(reaping.jobStatus, reaping.log).toBe('success');
        const pre = reaping.phase('pre')!.stdout;
        expect(pre).toMatch(new RegExp(`setup-dind cleanup-stale: removed .*container ${old}\\b`));
        expect(pre).toMatch(new RegExp(`volume ${old}\\b`));
        expect(pre).toMatch(new RegExp(`network ${old}\\b`));
        expect(pre).not.toMatch(new RegExp(`${young}|${undated}`));
        // (This engine refuses --privileged: pre warns what it granted instead; that warning is not the reaper's.)
        expect(annotations(reaping, 'pre', 'warning').filter((w) => !/^The engine refused privileged/.test(w))).toEqual([]);
      } finally {
        await reaping.cleanup();
      }
      expect(await exists(old)).toEqual([false, false, false]);
      expect(await exists(young)).toEqual([true, true, true]);
      expect(await exists(undated)).toEqual([true, true, true]);
      expect(oursIn(without.runnerTemp)).toEqual([]);
    } finally {
      await removeFakes();
    }
    await expectNothingLeft(before);
  });
});

describe('shell metacharacters in inputs', () => {
  const pwned = () => readdirSync('/tmp').filter((f) => f.startsWith('sd-pwned'));

  it('invalid ones fail with the input errors and start nothing; valid ones reach dockerd as literal arguments; nothing runs', async () => {
    for (const f of pwned()) rmSync(join('/tmp', f), { force: true });
    const before = await picture();
    const rejected = await dindJob({
      with: {
        image: 'x$(touch /tmp/sd-pwned1)',
        network: 'n`touch /tmp/sd-pwned2`',
        'registry-mirrors': 'https://mirror.example;touch /tmp/sd-pwned3',
        'cleanup-stale': '1d && touch /tmp/sd-pwned4',
        'daemon-args': '--label=a;touch /tmp/sd-pwned5',
      },
    });
    const literal = await dindJob({
      with: {
        'daemon-args': `--label='sd.a=x;touch /tmp/sd-pwned6' --label="sd.b=$(touch /tmp/sd-pwned7)" --label='sd.c=\`touch /tmp/sd-pwned8\`'\n--label=sd.d=x&&touch`,
      },
      steps: [
        { name: 'labels', run: `docker info --format '{{range .Labels}}{{println .}}{{end}}'` },
        { name: 'inside', env: { CID: '${{ steps.action.outputs.container-id }}' }, run: 'docker -H "$OUTER" exec "$CID" sh -c "ls /tmp | grep -c sd-pwned || true"' },
      ],
    });
    try {
      expect(rejected.jobStatus).toBe('failure');
      const [error] = annotations(rejected, 'pre', 'error');
      expect(error).toMatch(/^5 inputs are invalid:/);
      // The shell text after ';' is a second word: dockerd takes no arguments besides flags.
      expect(error).toContain('input "daemon-args": "/tmp/sd-pwned5" is not a dockerd flag, and dockerd takes no other arguments');
      expect(error).toContain('input "image": "x$(touch /tmp/sd-pwned1)" is not an image reference; ');
      expect(error).toContain('input "network": "n`touch /tmp/sd-pwned2`" is not a docker network name');
      expect(error).toContain('input "registry-mirrors": "https://mirror.example;touch /tmp/sd-pwned3" contains whitespace; ');
      expect(error).toContain('input "cleanup-stale": "1d && touch /tmp/sd-pwned4" is not an age; ');
      expect(error).toMatch(/Nothing was started/);
      expect(rejected.phase('post')!.stdout).toMatch(/nothing to clean up/);

      expect(literal.jobStatus, literal.log).toBe('success');
      expect(literal.phase('labels')!.stdout.trim().split('\n').sort()).toEqual(
        ['sd.a=x;touch /tmp/sd-pwned6', 'sd.b=$(touch /tmp/sd-pwned7)', 'sd.c=`touch /tmp/sd-pwned8`', 'sd.d=x&&touch'].sort(),
      );
      expect(literal.phase('inside')!.stdout.trim()).toBe('0');
      expect(pwned()).toEqual([]);
      await expectClean(before, rejected, literal);
    } finally {
      await Promise.all([rejected.cleanup(), literal.cleanup()]);
    }
  });
});

describe('security of the per-job directory and the socket', () => {
  it('tcp: keys 0600, directories 0700, nothing world-writable during the job; post removes every key and certificate', async () => {
    const before = await picture();
    // A client certificate for a registry, inline (as from a secret): its key is written into certs.d as well.
    const mtls = generateTls({ serverNames: ['registry.example.com'] });
    const job = await dindJob({
      with: { tcp: 'true', 'registry-certs': `registry.example.com:5000=${mtls.caCert.trim()}\n${mtls.clientCert.trim()}\n${mtls.clientKey.trim()}` },
      steps: [{
        name: 'modes',
        run: [
          'jobdir=$(dirname "$(dirname "$DOCKER_CERT_PATH")")',
          'echo "JOBDIR $jobdir"',
          'find "$jobdir" -printf "%m %y %P\\n" | sort -k3',
          'echo "WORLD-WRITABLE"; find "$jobdir" -perm -o+w -printf "%m %y %P\\n"; echo "END"',
        ].join('\n'),
      }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const out = job.phase('modes')!.stdout;
      const jobDir = /^JOBDIR (.*)$/m.exec(out)![1]!;
      expect(jobDir).toMatch(new RegExp(`^${job.runnerTemp}/setup-dind-[a-z0-9-]+$`));
      const entries = new Map(out.split('WORLD-WRITABLE')[0]!.split('\n').filter((l) => /^\d+ \w /.test(l)).map((l) => {
        const [mode, type, path = ''] = l.split(' ');
        return [path, `${mode} ${type}`] as const;
      }));
      expect(entries.get('')).toBe('700 d');
      for (const dir of ['tls', 'tls/client', 'tls/server']) expect(entries.get(dir), dir).toBe('700 d');
      for (const key of ['tls/client/key.pem', 'tls/server/server-key.pem', 'certs.d/registry.example.com:5000/client.key']) expect(entries.get(key), key).toBe('600 f');
      expect(entries.get('docker.sock')).toBe('660 s');
      expect(out.split('WORLD-WRITABLE\n')[1]).toBe('END\n');
      // Nothing outside the per-job directory: post removing it removes every key and certificate the action wrote.
      expect(existsSync(jobDir)).toBe(false);
      expect(existsSync(job.outputs['cert-path']!)).toBe(false);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });

  it("the socket is usable by the runner's user, and not by another non-root user", async () => {
    const before = await picture();
    // Outside `work` (0700, root's): the runner's user writes here.
    const sync = mkdtempSync(join(tmpdir(), 'sd-faults-socket-'));
    const { uid, gid } = idOf(RUNNER_USER);
    chownSync(sync, uid, gid);
    const jobDone = dindJob({
      user: RUNNER_USER,
      env: { DOCKER_HOST: outerHost(), SYNC: sync },
      steps: [{
        name: 'hold',
        run: 'echo "$DOCKER_HOST" > "$SYNC/host.tmp" && mv "$SYNC/host.tmp" "$SYNC/host"; for i in $(seq 1 900); do [ -f "$SYNC/done" ] && exit 0; sleep 0.1; done; exit 1',
      }],
    });
    let other: ReturnType<typeof spawnSync> | undefined;
    let runner: ReturnType<typeof spawnSync> | undefined;
    let waiting: unknown;
    try {
      const endedEarly = jobDone.then((j) => Promise.reject(new Error(`the job ended early:\n${j.log}`)));
      endedEarly.catch(() => undefined); // it does end, later: not an unhandled rejection
      const host = await Promise.race([waitForFile(join(sync, 'host'), 60_000), endedEarly]);
      const as = (user: string, groups: string[]) =>
        spawnSync('setpriv', ['--reuid', user, '--regid', user, ...groups, 'docker', '-H', host.trim(), 'version', '--format', '{{.Server.Version}}'], {
          env: { PATH: process.env.PATH, HOME: '/tmp' },
          encoding: 'utf8',
          timeout: 30_000,
        });
      other = as(OTHER_USER, ['--clear-groups']);
      runner = as(RUNNER_USER, ['--init-groups']);
    } catch (e) {
      waiting = e;
    } finally {
      writeFileSync(join(sync, 'done'), '');
    }
    // The job always ends (and is cleaned up) before the test does, whatever happened above.
    const job = await jobDone;
    rmSync(sync, { recursive: true, force: true });
    try {
      if (waiting) throw waiting;
      expect(job.jobStatus, job.log).toBe('success');
      expect(other!.status).not.toBe(0);
      expect(other!.stderr).toMatch(/permission denied/i);
      expect(runner!.status, String(runner!.stderr)).toBe(0);
      expect(String(runner!.stdout)).toMatch(/^\d+\./);
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });
});

describe('a cache service that stalls (what cache.test.ts does not cover: 500s, truncation and a full disk are there)', () => {
  let server: TestCacheServer;
  beforeAll(async () => {
    server = await startCacheServer();
  });
  afterAll(async () => server?.close());
  const LOAD = { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q` };
  // @actions/cache puts the cached path into the entry's version: like cache.test.ts, one stable runner root per
  // series of jobs that share entries, emptied before each job (the harness leaves a given rootDir alone).
  function cacheJob(root: string, options: Partial<RunJobOptions> & { with?: Record<string, string> }): Promise<JobResult> {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true, mode: 0o755 });
    return dindJob({ ...options, rootDir: root, env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), ...server.env(), ...options.env } });
  }

  it('a blob download that never answers is abandoned after SEGMENT_DOWNLOAD_TIMEOUT_MINS: a warning, a cold daemon, the job passes', async () => {
    const root = join(work, 'rr-down');
    const seed = await cacheJob(root, { with: { cache: 'images', 'cache-key': 'stalled-download' }, steps: [LOAD] });
    await seed.cleanup();
    expect(seed.phase('post')!.stdout, seed.log).toMatch(/saved stalled-download/);
    const before = await picture();
    server.faults.hang = { route: 'download' };
    let job: JobResult | undefined;
    try {
      job = await cacheJob(root, {
        env: { SEGMENT_DOWNLOAD_TIMEOUT_MINS: '0.1' },
        with: { cache: 'images', 'cache-key': 'stalled-download', 'cache-save': 'never' },
        steps: [{ name: 'empty', run: 'docker images -q | wc -l' }],
      });
    } finally {
      delete server.faults.hang;
    }
    try {
      expect(server.requests.some((r) => r.fault === 'hang')).toBe(true);
      expect(job.jobStatus, job.log).toBe('success');
      const main = job.phase('main')!;
      expect(main.durationMs).toBeLessThan(6000 + 8000);
      expect(annotations(job, 'main', 'warning').join('\n')).toMatch(/download time exceeded the timeout/);
      expect(job.outputs['cache-hit']).toBe('false');
      expect(job.phase('empty')!.stdout.trim()).toBe('0');
      await expectClean(before, job);
    } finally {
      await job.cleanup();
    }
  });

  it.skip('GetCacheEntryDownloadURL that never answers: not bounded by anything a test can set (http-client waits 3 min), so not run here', () => {
    // @actions/cache's twirp client has no timeout option and @actions/http-client's fixed 3-minute request timeout
    // is the only bound: main would wait 3 minutes, then warn and start cold. The action sets no deadline of its own
    // around the restore (see the report): bounded, but far beyond this suite's budget.
  });

  // The upload in post goes through the Azure SDK, which has no client-side timeout: the action's own deadline
  // (SETUP_DIND_CACHE_TIMEOUT_SECONDS, 10 minutes by default) gives it up with a warning, and post goes on to remove
  // the daemon. Without it, post waited until the runner killed it, leaving the daemon behind.
  it('an upload that never answers does not hang post: a warning at the deadline, and the daemon is removed', async () => {
    const before = await picture();
    server.faults.hang = { route: 'upload' };
    let stalled: JobResult | undefined;
    try {
      stalled = await cacheJob(join(work, 'rr-up'), {
        with: { cache: 'images', 'cache-key': 'stalled-upload' },
        env: { SETUP_DIND_CACHE_TIMEOUT_SECONDS: '5' },
        steps: [LOAD],
        stepTimeoutMs: 25_000, // the harness kills a step after this (the runner: after timeout-minutes)
      });
      expect(stalled.jobStatus, stalled.log).toBe('success');
      const post = stalled.phase('post')!;
      expect(post.timedOut).toBe(false);
      expect(post.exitCode).toBe(0);
      expect(post.durationMs).toBeLessThan(20_000);
      expect(annotations(stalled, 'post', 'warning').join('\n')).toMatch(/setup-dind cache: saving failed \(saving to GitHub's cache service did not finish within 5 s/);
      await expectClean(before, stalled);
    } finally {
      delete server.faults.hang;
      await stalled?.cleanup();
    }
  });
});

/** The session id the action saved in state (STATE_setup-dind). */
function sessionOf(job: JobResult): string {
  return (JSON.parse(job.state['setup-dind']!) as { session: string }).session;
}

function idOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

async function waitForFile(path: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) return readFileSync(path, 'utf8');
    await sleep(100);
  }
  throw new Error(`${path} did not appear within ${timeoutMs} ms`);
}
