// What every benchmark shares (see bench/README.md): the bed daemon as the outer engine, a private copy of the built
// action, jobs through the runner harness with the phases' times, rounds interleaved round-robin with the load noted,
// min/median statistics, the ratio table, and the guarantee that nothing of the run stays behind.
//
//   const bench = benchmark('ready');          // sd-bench-ready-<pid>, the job bench-ready-<pid>/1/bench-ready
//   beforeAll(() => bench.setUp()); afterAll(() => bench.tearDown());
//   const results = await bench.measure(variants, { reps, warmup, settleMs, facts, line, table });  // prints the table
//   await bench.finish();                      // fails when anything of the run is left
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { LABEL_JOB } from '../src/session/session.js';
import { type RunJobOptions, runJob } from '../test/harness/runner.js';
import { run, sleep, now, repoRoot, NODE24, actionNode, BENCH_LABEL, median, f2, type Sample, type Variant, type TimedJob, type RoundOptions } from './measure.js';
import { get, alive, processesUnder, removeDir } from './probe.js';
export { run, sleep, now, repoRoot, NODE24, actionNode, BENCH_LABEL, intEnv, timedShell, median, f1, f2, spread, ratioLine, goalLine, detailLines, type Sample, type Variant, type TimedJob, timedStep, stepSeconds, phaseSeconds, type RoundOptions } from './measure.js';
export { type Target, get, answers, waitUntilAnswers, freePort, processesUnder, removeDir } from './probe.js';

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
