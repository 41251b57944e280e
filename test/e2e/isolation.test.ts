// Isolation on a shared host: several jobs at once on one engine, each publishing ephemeral and fixed ports, reach
// only their own containers at 127.0.0.1 (plain HTTP and testcontainers), with socket mode (the runner's engine
// allocating every port) as the control; a fixed port another job holds is refused at once, naming it. And a job
// whose post never runs: the next job's cleanup-stale leaves no object and no process of it; a forwarder whose
// daemon container is removed by hand ends on its own.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive } from '../../src/background/helper-process.js';
import { reservationsDir } from '../../src/background/port-range.js';
import type { SessionState } from '../../src/state.js';
import { type JobResult, runJob } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot, forwarders, refused } from './support.js';

const TC_MODULE = createRequire(join(repoRoot, 'package.json')).resolve('testcontainers');
const JOBS_PER_MODE = 4;
/** Fetches a URL with the runner's node, retrying for a few seconds (a server that has just started). */
const FETCH = `const u = process.argv[1]; (async () => { for (let i = 0; i < 50; i++) { try { const r = await fetch(u); console.log((await r.text()).trim()); return; } catch { await new Promise((r) => setTimeout(r, 100)); } } console.log('no answer'); })()`;
/** Waits until `count` files named `<prefix>*` are in the barrier directory (every job got there), at most 2 min. */
const WAIT = `const fs = require('fs'); const [dir, prefix, count] = process.argv.slice(1); (async () => { for (let i = 0; i < 600; i++) { if (fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).length >= Number(count)) return; await new Promise((r) => setTimeout(r, 200)); } console.error('not every job got to ' + prefix); })()`;
/** testcontainers with no setting but the reaper's: a mapped port, read while every job's container runs. */
const TESTCONTAINERS = `const { GenericContainer } = require(process.env.TC_MODULE); const fs = require('fs');
(async () => {
  const c = await new GenericContainer('${BUSYBOX}')
    .withCommand(['sh', '-c', 'mkdir -p /www && echo ' + process.env.TOKEN + ' > /www/index.html && exec httpd -f -p 80 -h /www'])
    .withExposedPorts(80)
    .start();
  fs.writeFileSync(process.env.BARRIER + '/tc-' + process.env.TOKEN, '');
  for (let i = 0; i < 600 && fs.readdirSync(process.env.BARRIER).filter((f) => f.startsWith('tc-')).length < Number(process.env.JOBS); i++) await new Promise((r) => setTimeout(r, 200));
  const r = await fetch('http://' + c.getHost() + ':' + c.getMappedPort(80) + '/');
  console.log('tc ' + c.getMappedPort(80) + ': ' + (await r.text()).trim());
  await c.stop();
})().catch((e) => { console.error(e); process.exit(1); });`;

const SERVE = `serve="mkdir -p /www && echo $TOKEN > /www/index.html && exec httpd -f -p 80 -h /www"`;
const fetchUrl = (url: string) => `"$NODE" -e "$FETCH" ${url}`;
const waitFor = (prefix: string) => `"$NODE" -e "$WAIT" "$BARRIER" ${prefix} "$JOBS"`;

const stateOf = (job: JobResult): SessionState => JSON.parse(job.state['setup-dind'] ?? '{}') as SessionState;
const warnings = (job: JobResult, phase: string) => job.annotations.filter((a) => a.phase === phase && a.level === 'warning').map((a) => a.message);

describe('several jobs at once on one engine', () => {
  it('each reaches only its own containers at 127.0.0.1, ephemeral and fixed ports alike, as with socket mode; a held port is refused', async () => {
    const reservations = reservationsDir();
    const before = await picture([reservations]);
    const barrier = mkdtempSync(join(tmpdir(), 'sd-isolation-barrier-'));
    const modes = ['dind', 'socket'] as const;
    const specs = modes.flatMap((mode, m) =>
      Array.from({ length: JOBS_PER_MODE }, (_, i) => ({ mode, i, token: `${mode}-job-${i}-answers`, fixed: 18_100 + 100 * m + i })),
    );
    const jobs = await Promise.all(
      specs.map((s) =>
        runJob({
          actionDir: repoRoot,
          nodePath: actionNode(),
          env: {
            DOCKER_HOST: outerHost(),
            OUTER: outerHost(),
            NODE: actionNode(),
            FETCH,
            WAIT,
            TOKEN: s.token,
            FIXED: String(s.fixed),
            // The first job of each mode also asks for the fixed port the second one holds.
            OTHER: String(s.fixed + 1),
            BARRIER: barrier,
            JOBS: String(specs.length),
          },
          with: s.mode === 'dind' ? { image: DIND_IMAGE } : { mode: 'socket' },
          steps: [
            ...(s.mode === 'dind' ? [{ name: 'images', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null` }] : []),
            {
              name: 'ports',
              run: [
                SERVE,
                `docker run -d --name eph-$TOKEN -p 80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
                `docker run -d --name fixed-$TOKEN -p $FIXED:80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
                `eph=$(docker port eph-$TOKEN 80/tcp | head -n1 | sed 's/.*://')`,
                // Every job's containers run before any job looks: concurrent jobs, not jobs one after another.
                `touch "$BARRIER/up-$TOKEN"; ${waitFor('up-')}`,
                `echo "eph $eph: $(${fetchUrl('http://127.0.0.1:$eph/')})"`,
                `echo "fixed: $(${fetchUrl('http://127.0.0.1:$FIXED/')})"`,
                ...(s.i === 0
                  ? [`if docker run -d --name clash-$TOKEN -p $OTHER:80 ${BUSYBOX} sh -c "$serve" >/dev/null 2>"$RUNNER_TEMP/clash.err"; then echo "clash started: $(${fetchUrl('http://127.0.0.1:$OTHER/')})"; else echo "clash refused: $(cat "$RUNNER_TEMP/clash.err")"; fi`]
                  : []),
              ].join('\n'),
            },
            { name: 'testcontainers', run: 'node -e "$TC_SCRIPT"', env: { TC_SCRIPT: TESTCONTAINERS, TC_MODULE, TESTCONTAINERS_RYUK_DISABLED: 'true', TMPDIR: tmpdir() } },
            { name: 'done', run: `touch "$BARRIER/done-$TOKEN"; ${waitFor('done-')}; docker rm -f eph-$TOKEN fixed-$TOKEN clash-$TOKEN >/dev/null 2>&1; true` },
          ],
        }),
      ),
    );
    try {
      const eph: Record<string, number[]> = { dind: [], socket: [] };
      for (const [k, job] of jobs.entries()) {
        const s = specs[k]!;
        expect(job.jobStatus, job.log).toBe('success');
        const out = job.phase('ports')!.stdout;
        const m = new RegExp(`^eph (\\d+): (.*)$`, 'm').exec(out);
        expect(m?.[2], `${s.token}'s ephemeral port`).toBe(s.token);
        eph[s.mode]!.push(Number(m![1]));
        if (s.mode === 'dind') {
          // The daemon picked it from the block of host ports this job reserved (its own ip_local_port_range).
          const block = stateOf(job).ports!;
          expect(Number(m![1]), `${s.token}'s ephemeral port in its block ${block.start}-${block.end}`).toBeGreaterThanOrEqual(block.start);
          expect(Number(m![1])).toBeLessThanOrEqual(block.end);
        }
        expect(out, `${s.token}'s fixed port`).toMatch(new RegExp(`^fixed: ${s.token}$`, 'm'));
        expect(job.phase('testcontainers')!.stdout, `${s.token} through testcontainers`).toMatch(new RegExp(`^tc \\d+: ${s.token}$`, 'm'));
        if (s.i === 0) {
          // Refused at once in the step, naming the port (the runner's engine: "port is already allocated").
          expect(out).toMatch(new RegExp(`^clash refused: .*\\b${s.fixed + 1}\\b.*already allocated`, 'm'));
          expect(out).not.toMatch(/clash started/);
          // dind: post's log lists the port that was not forwarded too.
          if (s.mode === 'dind') expect(warnings(job, 'post').join('\n')).toMatch(new RegExp(`port ${s.fixed + 1} is already allocated`));
        }
        if (s.mode === 'dind') expect(job.phase('post')!.stdout).toMatch(/removed .*host ports \d+-\d+/);
      }
      // Every job's ephemeral port is its own on the host.
      for (const mode of modes) expect(new Set(eph[mode]).size, `${mode}: ${eph[mode]!.join(', ')}`).toBe(JOBS_PER_MODE);
      expect(forwarders()).toEqual([]);
      for (const s of specs) expect(await refused(s.fixed)).toBe(true);
      await expectNothingLeft(before);
    } finally {
      rmSync(barrier, { recursive: true, force: true });
      await Promise.all(jobs.map((j) => j.cleanup()));
    }
  }, 360_000);
});

describe('a job whose runner died before post', () => {
  it('leaves no object and no process after the next job\'s cleanup-stale; a forwarder whose daemon is removed by hand ends on its own', async () => {
    const reservations = reservationsDir();
    const before = await picture([reservations]);
    const dead = (port: number) =>
      runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        runnerDiesBeforePost: true,
        env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), NODE: actionNode(), FETCH, TOKEN: `dead-${port}` },
        with: { image: DIND_IMAGE },
        steps: [
          { name: 'images', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null` },
          { name: 'serve', run: [SERVE, `docker run -d -p ${port}:80 ${BUSYBOX} sh -c "$serve" >/dev/null`, fetchUrl(`http://127.0.0.1:${port}/`)].join('\n') },
        ],
      });
    const [a, b] = await Promise.all([dead(18_301), dead(18_302)]);
    try {
      for (const [job, port] of [[a, 18_301], [b, 18_302]] as const) {
        expect(job.jobStatus, job.log).toBe('success');
        expect(job.phase('serve')!.stdout.trim()).toBe(`dead-${port}`);
        expect(job.phase('post')?.ran ?? false).toBe(false);
      }
      const [sa, sb] = [stateOf(a), stateOf(b)];
      expect(alive(sa.forwarder!.pid)).toBe(true);
      expect(alive(sb.forwarder!.pid)).toBe(true);

      // b's daemon container removed by hand: its forwarder ends on its own, and lets go of the port.
      await docker(['rm', '-f', sb.containerId!]);
      for (let i = 0; i < 100 && alive(sb.forwarder!.pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(sb.forwarder!.pid), readFileSync(sb.forwarder!.log, 'utf8')).toBe(false);
      expect(readFileSync(sb.forwarder!.log, 'utf8')).toMatch(/stopped \(the daemon's container \w+ (stopped|is gone)/);
      expect(await refused(18_302)).toBe(true);

      // The next job on the host, with cleanup-stale: both dead sessions' objects and a's forwarder go.
      await new Promise((r) => setTimeout(r, 1_500));
      const next = await runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        env: { DOCKER_HOST: outerHost() },
        with: { image: DIND_IMAGE, 'cleanup-stale': '1s' },
        steps: [{ name: 'ok', run: 'docker version >/dev/null' }],
      });
      try {
        expect(next.jobStatus, next.log).toBe('success');
        const pre = next.phase('pre')!.stdout;
        for (const s of [sa, sb]) expect(pre).toMatch(new RegExp(`cleanup-stale: removed .*volume ${s.volume}\\b`));
        expect(pre).toMatch(new RegExp(`container ${sa.containerName}\\b`));
      } finally {
        await next.cleanup();
      }
      expect(alive(sa.forwarder!.pid)).toBe(false);
      expect(await refused(18_301)).toBe(true);
      expect(forwarders()).toEqual([]);
    } finally {
      // A failure above may leave the dead jobs' daemons and forwarders: end ours (verified by pid and command line).
      for (const s of [stateOf(a), stateOf(b)]) {
        const pid = s.forwarder?.pid;
        if (pid && alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`${s.jobDir}/forwarder.json`)) process.kill(pid, 'SIGKILL');
        if (s.containerId) await docker(['rm', '-f', s.containerId]).catch(() => undefined);
        if (s.volume) await docker(['volume', 'rm', '-f', s.volume]).catch(() => undefined);
        if (s.ports) rmSync(s.ports.file, { force: true });
      }
      await Promise.all([a.cleanup(), b.cleanup()]);
    }
    await expectNothingLeft(before);
  }, 360_000);
});

describe('the CLI (GitLab, any shell)', () => {
  const CLI = join(repoRoot, 'dist', 'cli', 'index.js');
  it('two setup-dind start on one host are as isolated as two jobs', async () => {
    const reservations = reservationsDir();
    const work = mkdtempSync(join(tmpdir(), 'sd-isolation-cli-'));
    const before = await picture([reservations]);
    const shell = (script: string, env: Record<string, string>) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile('bash', ['-c', script], { env: { ...process.env, PATH: `${join(actionNode(), '..')}:${process.env.PATH}`, OUTER: outerHost(), DOCKER_HOST: outerHost(), NODE: actionNode(), FETCH, ...env } }, (e, stdout, stderr) =>
          resolve({ code: e ? 1 : 0, out: stdout + stderr }),
        );
      });
    const session = (n: number) => ({ SETUP_DIND_IMAGE: DIND_IMAGE, SETUP_DIND_STATE_DIR: join(work, `state-${n}`), TOKEN: `cli-${n}-answers`, FIXED: String(18_400 + n) });
    const cli = (_n: number, args: string) => `"$NODE" ${CLI} ${args}`;
    try {
      const started = await Promise.all([1, 2].map((n) => shell(cli(n, 'start --wait-timeout 60'), session(n))));
      for (const s of started) expect(s.code, s.out).toBe(0);
      const script = (n: number) =>
        [
          `eval "$(${cli(n, 'env')})"`,
          `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null`,
          SERVE,
          `docker run -d --name eph -p 80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
          `docker run -d --name fixed -p $FIXED:80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
          `eph=$(docker port eph 80/tcp | head -n1 | sed 's/.*://')`,
          `echo "eph $eph: $(${fetchUrl('http://127.0.0.1:$eph/')})"`,
          `echo "fixed: $(${fetchUrl('http://127.0.0.1:$FIXED/')})"`,
        ].join('\n');
      const [one, two] = await Promise.all([shell(script(1), session(1)), shell(script(2), session(2))]);
      const ports = [one, two].map((r, i) => {
        expect(r.out).toMatch(new RegExp(`^fixed: cli-${i + 1}-answers$`, 'm'));
        const m = /^eph (\d+): (.*)$/m.exec(r.out);
        expect(m?.[2], r.out).toBe(`cli-${i + 1}-answers`);
        return Number(m![1]);
      });
      expect(ports[0]).not.toBe(ports[1]);
      // The second asks for the first one's fixed port: refused at once, naming it.
      const clash = await shell(`eval "$(${cli(2, 'env')})"; docker run -d -p 18401:80 ${BUSYBOX} sleep 60`, session(2));
      expect(clash.code).toBe(1);
      expect(clash.out).toMatch(/port 18401 is already allocated on the job's host/);
    } finally {
      for (const n of [1, 2]) await shell(cli(n, 'stop'), session(n));
      rmSync(work, { recursive: true, force: true });
    }
    expect(forwarders()).toEqual([]);
    await expectNothingLeft(before);
  }, 240_000);
});
