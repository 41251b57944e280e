// Job-overhead benchmark (issue 15), side by side in one run, on bench/harness.ts (see bench/README.md):
//   bare      dockerd on the host in its own network namespace, --bridge=none --iptables=false: spawn to ready
//   bare-br   the same with the default bridge and its iptables rules (inside that namespace): the work the job's
//             daemon does at every start, so the limit "dind ready" is judged against
//   floor     the dind image's dockerd in a container on the bed, created and started straight through the engine
//             API with the grant the action falls back to here, reached on a bind-mounted unix socket: what any dind
//             setup pays before the action adds anything (create to ready)
//   dind      the action in dind mode, no step between pre and main: pre + main (the daemon is ready), post
//   dind+co   the same after a simulated checkout (`sleep 3` between pre and main): pre, main, post, total
//   socket    socket mode (the bed's engine as the runner's daemon), same checkout
//   cache     cache: images with a cache-dir: a job saves the image set, a second job restores it and changes
//             nothing; that job's post (unchanged cache) against the post of a job without a cache
//   load      each phase's entry (action.yml's pre/main/post) with only PATH in the environment, against node -e 0
// and the size of dist/. With BENCH_BASELINE=DIR (action.yml + dist/ of another build, e.g. main's) every action
// variant runs for that build too, interleaved in the same rounds: before and after under the same load.
//
//   npm run bench -- bench/overhead.run.ts
//   BENCH_BASELINE=/path/to/main-build BENCH_REPS=5 npm run bench -- bench/overhead.run.ts
//   BENCH_ONLY=bare-br,dind,before-dind npm run bench -- bench/overhead.run.ts
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { EngineClient } from '../src/engine/client.js';
import { INIT_SCRIPT, NESTED_DOCKERD_CAPABILITIES, withheldCapabilities } from '../src/daemon/dind-plan.js';
import type { JobStep } from '../test/harness/runner.js';
import { BENCH_LABEL, type Sample, type TimedJob, type Variant, actionNode, benchmark, f2, intEnv, median, now, phaseSeconds, removeDir, sleep, waitUntilAnswers } from './harness.js';

const REPS = Math.max(1, intEnv('BENCH_REPS', 5));
const WARMUP = intEnv('BENCH_WARMUP', 1);
const LOADS = Math.max(1, intEnv('BENCH_LOADS', 5));
const CHECKOUT_SECONDS = intEnv('BENCH_CHECKOUT_SECONDS', 3);
const SETTLE_MS = intEnv('BENCH_SETTLE_MS', 500);
const IMAGE = process.env.BENCH_IMAGE || 'local/dind:test';
const CACHE_IMAGE = process.env.BENCH_CACHE_IMAGE || 'local/busybox:1';

// A short name: the job's socket path (under the run's directory, named after the job) must stay within 107 bytes.
const bench = benchmark('ovh');
const hostDaemons = new Set<ChildProcess>();
/** The builds measured: '' is this checkout's, 'before-' the baseline's (BENCH_BASELINE). */
const actions = new Map<string, string>();

interface Figures extends Sample {
  /** the headline number of the progress line */
  seconds: number;
}
const figures = (details: Record<string, number>, headline: string, notes: string[] = []): Figures => ({ seconds: details[headline]!, details, notes });

/** bare dockerd in its own network namespace on a fresh data-root, spawn to the first answer (/_ping then /version). */
async function bareDockerd(round: string, bridge: boolean): Promise<Figures> {
  const dir = join(bench.base, `bare${bridge ? '-br' : ''}-${round}`);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const fd = openSync(logPath, 'w');
  const flags = [`--host=unix://${sock}`, `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/dockerd.pid`, ...(bridge ? [] : ['--bridge=none', '--iptables=false'])];
  const t0 = now();
  const child = spawn('unshare', ['--net', 'dockerd', ...flags], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  hostDaemons.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    const ms = await waitUntilAnswers(() => ({ socketPath: sock }), t0, async () => (running() ? undefined : `dockerd exited: ${readFileSync(logPath, 'utf8').slice(-2000)}`));
    return figures({ ready: ms / 1000 }, 'ready');
  } finally {
    if (running()) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (running()) child.kill('SIGKILL');
      await exited;
    }
    hostDaemons.delete(child);
    await removeDir(dir);
  }
}

/**
 * The floor of any dind setup: the image's dockerd in a container on the bed (create, start, its own boot), reached
 * on a unix socket in a bind-mounted directory, as the action reaches it. The grant is the one the action falls back
 * to on this engine (every capability the host does not withhold, unconfined), so no refused --privileged attempt;
 * the action's INIT_SCRIPT remounts the cgroups, as docker:dind's own entrypoint would.
 */
async function dindFloor(round: string): Promise<Figures> {
  const name = `${bench.tag}-floor-${round}`;
  const dir = join(bench.base, `floor-${round}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const engine = new EngineClient({ address: { kind: 'unix', path: bench.dockerHost.slice('unix://'.length) } });
  const labels = { [BENCH_LABEL]: bench.tag };
  const drop = withheldCapabilities(readFileSync('/proc/self/status', 'utf8')).filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));
  let id: string | undefined;
  let volume = false;
  const t0 = now();
  try {
    await engine.createVolume(name, labels);
    volume = true;
    id = await engine.createContainer({
      name, Image: IMAGE, Labels: labels,
      Entrypoint: ['sh', '-c', INIT_SCRIPT, 'floor'], Cmd: ['dockerd', '--host=unix:///run/floor/docker.sock'],
      HostConfig: {
        Init: true, CapAdd: ['ALL'], CapDrop: drop, SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable'], MaskedPaths: [], ReadonlyPaths: [],
        Mounts: [{ Type: 'bind', Source: dir, Target: '/run/floor' }, { Type: 'volume', Source: name, Target: '/var/lib/docker' }],
      },
    });
    await engine.startContainer(id);
    const started = now();
    const ms = await waitUntilAnswers(() => ({ socketPath: join(dir, 'docker.sock') }), t0, async () => {
      const c = await engine.inspectContainer(id!);
      return c?.running ? undefined : `the floor container stopped: ${await engine.containerLogs(id!, 30).catch(() => '')}`;
    });
    return figures({ ready: ms / 1000, 'create+start': (started - t0) / 1000 }, 'ready');
  } finally {
    if (id) await engine.removeContainer(id);
    if (volume) await engine.removeVolume(name);
    await removeDir(dir);
  }
}

const USE: JobStep = { name: 'use', run: 'docker version --format "{{.Server.Version}}" >/dev/null' };
const CHECKOUT: JobStep = { name: 'checkout (simulated)', run: `sleep ${CHECKOUT_SECONDS}` };
const phases = (j: TimedJob) => {
  const [pre, main, post] = (['pre', 'main', 'post'] as const).map((p) => phaseSeconds(j, p));
  return { pre: pre!, main: main!, post: post!, 'pre+main': pre! + main!, total: pre! + main! + post! };
};
/** The run check's own time, as main reports it (none when the daemon runs privileged). */
const runCheck = (j: TimedJob): Record<string, number> => {
  const m = /started a test container in (\d+) ms/.exec(j.job.log);
  return m ? { 'run check': Number(m[1]) / 1000 } : {};
};
const refused = (j: TimedJob) => {
  const pre = j.job.phase('pre')?.stdout ?? '';
  if (/The engine refused privileged \([^\n]*remembered from a job/.test(pre)) return ['--privileged refused in an earlier job (remembered), explicit capabilities'];
  return /The engine refused privileged/.test(pre) ? ['--privileged refused, explicit capabilities'] : [];
};

/**
 * dind, no step between pre and main: the daemon is ready when main ends. `privileged: false`, or auto; `first`: a
 * job with nothing remembered about the engine (an empty cache directory of its own, privilege-memory.ts), as the
 * first job on a host; otherwise the jobs share the user's cache directory, as later jobs on one host do.
 */
async function dindReady(actionDir: string, o: { privileged?: 'false'; first?: boolean } = {}): Promise<Figures> {
  const cache = o.first ? mkdtempSync(join(bench.base, 'xdg-')) : undefined;
  try {
    const j = await bench.job('dind', { actionDir, with: { image: IMAGE, ...(o.privileged ? { privileged: o.privileged } : {}) }, steps: [USE], ...(cache ? { env: { XDG_CACHE_HOME: cache } } : {}) });
    // Until the job's first docker command has its answer (it waits at the gate while the run check goes on).
    const used = (j.end.get(USE.name!)! - j.start.get('pre')!) / 1000;
    return figures({ ...phases(j), ...runCheck(j), 'pre start to first docker answer': used }, 'pre+main', refused(j));
  } finally {
    if (cache) await removeDir(cache);
  }
}

/** dind or socket after a simulated checkout: what main costs when pre had time to boot the daemon. */
async function afterCheckout(actionDir: string, mode: 'dind' | 'socket'): Promise<Figures> {
  const j = await bench.job(mode, { actionDir, with: mode === 'dind' ? { image: IMAGE } : { mode: 'socket' }, stepsBefore: [CHECKOUT], steps: [USE], removes: mode === 'dind' });
  return figures(phases(j), 'main', mode === 'dind' ? refused(j) : []);
}

const SAVED = /setup-dind cache: saved \S+/;
const UNCHANGED = /setup-dind cache: not saved: the images are unchanged/;
/** cache: images: one job saves the image set, the next restores it and changes nothing: its post must not save. */
async function unchangedCache(actionDir: string, round: string): Promise<Figures> {
  const dir = join(bench.base, `cache-${round}`);
  const inputs = { image: IMAGE, cache: 'images', 'cache-dir': dir, 'cache-key': 'bench-overhead', 'cache-images': CACHE_IMAGE };
  try {
    const load: JobStep = { name: 'load', run: `docker -H "$OUTER" save '${CACHE_IMAGE}' | docker load -q` };
    const saving = await bench.job('cache save', { actionDir, env: { OUTER: bench.dockerHost }, with: inputs, steps: [load] });
    if (!SAVED.test(saving.job.phase('post')!.stdout)) throw new Error(`cache: the first job's post did not save:\n${saving.job.phase('post')!.stdout.slice(-2000)}`);
    const j = await bench.job('cache unchanged', { actionDir, with: inputs, steps: [USE] });
    const post = j.job.phase('post')!.stdout;
    if (j.job.outputs['cache-hit'] !== 'true' || !UNCHANGED.test(post)) throw new Error(`cache: the restoring job did not hit, or its post did not find the cache unchanged:\n${j.job.log.slice(-4000)}`);
    return figures({ 'post, unchanged cache': phaseSeconds(j, 'post') }, 'post, unchanged cache');
  } finally {
    await removeDir(dir);
  }
}

/** Seconds from spawn to exit of `node args` with only PATH in the environment. */
async function nodeRun(args: string[]): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(actionNode(), args, { stdio: 'ignore', env: { PATH: process.env.PATH } });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  return (now() - t0) / 1000;
}

/** The phases' entries as action.yml names them. */
const entries = (actionDir: string) => (['pre', 'main', 'post'] as const).map((p) => [p, new RegExp(`^\\s+${p}: (\\S+)`, 'm').exec(readFileSync(join(actionDir, 'action.yml'), 'utf8'))![1]!] as const);

/** LOADS loads of node -e 0 and of each entry, interleaved; the medians of this round. */
async function bundleLoad(actionDir: string): Promise<Figures> {
  const xs: Record<string, number[]> = { 'node -e 0': [] };
  for (let i = 0; i < LOADS; i++) {
    xs['node -e 0']!.push(await nodeRun(['-e', '0']));
    for (const [phase, file] of entries(actionDir)) (xs[`load ${phase}`] ??= []).push(await nodeRun([join(actionDir, file)]));
  }
  const details = Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, median(v)]));
  for (const [phase] of entries(actionDir)) details[`load ${phase} over node -e 0`] = details[`load ${phase}`]! - details['node -e 0']!;
  return figures(details, 'load main over node -e 0');
}

function sizeOf(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((n, e) => n + sizeOf(join(path, e)), 0) : st.size;
}

function variants(): Variant<Figures>[] {
  const list: Variant<Figures>[] = [
    { key: 'bare', label: 'bare dockerd, --bridge=none --iptables=false', measure: (r) => bareDockerd(r, false) },
    { key: 'bare-br', label: 'bare dockerd with bridge + iptables', measure: (r) => bareDockerd(r, true) },
  ];
  // Each kind for both builds one after the other (this build, then the baseline): a variant that follows a heavy
  // one (the floor's container removal, a cache save) pays for it, and both builds take that place in turn.
  const kinds: ((tag: string, dir: string) => Variant<Figures>)[] = [
    (tag, dir) => ({ key: `${tag}dind`, label: `${tag}dind, no step between`, measure: () => dindReady(dir) }),
    (tag, dir) => ({ key: `${tag}dind-false`, label: `${tag}dind, privileged: false, no step between`, measure: () => dindReady(dir, { privileged: 'false' }) }),
    (tag, dir) => ({ key: `${tag}dind-first`, label: `${tag}dind, first job on the engine, no step between`, measure: () => dindReady(dir, { first: true }) }),
    (tag, dir) => ({ key: `${tag}dind+co`, label: `${tag}dind after a checkout`, measure: () => afterCheckout(dir, 'dind') }),
    (tag, dir) => ({ key: `${tag}socket`, label: `${tag}socket after a checkout`, measure: () => afterCheckout(dir, 'socket') }),
    (tag, dir) => ({ key: `${tag}cache`, label: `${tag}cache: images, unchanged`, measure: (r) => unchangedCache(dir, `${tag}${r}`) }),
    (tag, dir) => ({ key: `${tag}load`, label: `${tag}bundle load`, measure: () => bundleLoad(dir) }),
  ];
  for (const kind of kinds) for (const [tag, dir] of actions) list.push(kind(tag, dir));
  // Last, so the next round's host-only dockerd follows its container's removal, not a job of either build.
  list.push({ key: 'floor', label: "dind floor: the image's dockerd in a container", measure: (r) => dindFloor(r) });
  return list;
}

// ------------------------------------------------------------------------------------------------------------------
// The table: every figure with min and median, as a ratio to its limit, next to the goal of issue 15

interface Row {
  label: string;
  /** variant key (without the build's tag) and detail */
  key: string;
  detail: string;
  /** the limit: another figure of the same run (a variant key and detail, shared by both builds) or a fixed value */
  limit?: { label: string; key: string; detail: string };
  goal?: string;
  /** the issue's "done when" bound, judged on the median: in seconds, or (judge: 'ratio') as the ratio to the limit */
  done?: number;
  judge?: 'ratio';
}

const FLOOR = { label: 'dind floor', key: 'floor', detail: 'ready' };
const ROWS: Row[] = [
  { label: 'bare dockerd, no bridge (spawn to ready)', key: 'bare', detail: 'ready' },
  { label: 'bare dockerd, bridge + iptables (the limit)', key: 'bare-br', detail: 'ready' },
  { label: 'dind ready: pre + main, no step between', key: 'dind', detail: 'pre+main', limit: FLOOR, goal: '<= 1.15x floor (done 1.5x)', done: 1.5, judge: 'ratio' },
  { label: '  the same against bare, bridge', key: 'dind', detail: 'pre+main', limit: { label: 'bare, bridge', key: 'bare-br', detail: 'ready' } },
  { label: '  the same against bare, no bridge', key: 'dind', detail: 'pre+main', limit: { label: 'bare, no bridge', key: 'bare', detail: 'ready' } },
  { label: '  of which pre', key: 'dind', detail: 'pre' },
  { label: '  of which main', key: 'dind', detail: 'main' },
  { label: '  the run check (when main waited for it)', key: 'dind', detail: 'run check' },
  { label: '  pre start to first docker answer', key: 'dind', detail: 'pre start to first docker answer', limit: FLOOR },
  { label: 'dind ready, privileged: false', key: 'dind-false', detail: 'pre+main', limit: FLOOR, goal: '<= 1.15x floor (done 1.5x)', done: 1.5, judge: 'ratio' },
  { label: '  of which pre', key: 'dind-false', detail: 'pre' },
  { label: '  of which main', key: 'dind-false', detail: 'main' },
  { label: '  the run check (when main waited for it)', key: 'dind-false', detail: 'run check' },
  { label: '  pre start to first docker answer', key: 'dind-false', detail: 'pre start to first docker answer', limit: FLOOR },
  { label: 'dind ready, first job on the engine (auto)', key: 'dind-first', detail: 'pre+main', limit: FLOOR },
  { label: '  of which pre', key: 'dind-first', detail: 'pre' },
  { label: 'dind floor: create to ready (no action)', key: 'floor', detail: 'ready', limit: { label: 'bare, bridge', key: 'bare-br', detail: 'ready' } },
  { label: '  of which create + start', key: 'floor', detail: 'create+start' },
  { label: 'dind post, nothing to save', key: 'dind', detail: 'post', goal: '<= 0.5 s (done 0.7 s)', done: 0.7 },
  { label: `dind pre (before a ${CHECKOUT_SECONDS} s checkout)`, key: 'dind+co', detail: 'pre' },
  { label: 'dind main after the checkout', key: 'dind+co', detail: 'main', limit: { label: 'node -e 0', key: 'load', detail: 'node -e 0' }, goal: '<= 0.2 s (done 0.25 s)', done: 0.25 },
  { label: 'dind post', key: 'dind+co', detail: 'post', goal: '<= 0.5 s (done 0.7 s)', done: 0.7 },
  { label: 'dind pre + main + post', key: 'dind+co', detail: 'total' },
  { label: `socket pre (before a ${CHECKOUT_SECONDS} s checkout)`, key: 'socket', detail: 'pre' },
  { label: 'socket main after the checkout', key: 'socket', detail: 'main', limit: { label: 'node -e 0', key: 'load', detail: 'node -e 0' } },
  { label: 'socket post', key: 'socket', detail: 'post' },
  { label: 'socket pre + main + post', key: 'socket', detail: 'total' },
  { label: 'post, unchanged cache (cache: images)', key: 'cache', detail: 'post, unchanged cache', limit: { label: 'dind post, no cache', key: 'dind', detail: 'post' }, goal: '<= 1 s, as without cache', done: 1 },
  { label: 'node -e 0', key: 'load', detail: 'node -e 0' },
  ...(['pre', 'main', 'post'] as const).map((p): Row => ({ label: `load ${p} entry, over node -e 0`, key: 'load', detail: `load ${p} over node -e 0`, goal: '<= +0.15 s', done: 0.15 })),
];

function table(results: Map<string, Figures[]>, facts: string[], distBytes: Map<string, number>): string {
  const samples = (key: string, detail: string) => (results.get(key) ?? []).map((s) => s.details[detail] ?? NaN).filter(Number.isFinite);
  const tags = [...actions.keys()];
  const shared = (key: string) => key.startsWith('bare') || key === 'floor';
  const head = tags.map((t) => (t ? 'BEFORE (baseline)' : 'AFTER (this build)').padEnd(36)).join('');
  const out = ['', '=== setup-dind: job overhead (issue 15) ===', ...facts, '',
    `${''.padEnd(46)}${head}`,
    `${'figure (seconds)'.padEnd(46)}${tags.map(() => `${'min'.padStart(7)}${'median'.padStart(8)}  ${'vs limit min/med'.padEnd(19)}`).join('')}goal (judged: this build's median)`];
  let missed = 0;
  for (const row of ROWS) {
    const cells: string[] = [];
    let verdict = '';
    for (const tag of tags) {
      const xs = samples(shared(row.key) ? row.key : `${tag}${row.key}`, row.detail);
      if (!xs.length) {
        cells.push(''.padEnd(36));
        continue;
      }
      const [mn, md] = [Math.min(...xs), median(xs)];
      let versus = '';
      let judged = md;
      if (row.limit) {
        const ls = samples(shared(row.limit.key) ? row.limit.key : `${tag}${row.limit.key}`, row.limit.detail!);
        if (ls.length) {
          const [lmin, lmed] = [Math.min(...ls), median(ls)];
          versus = `${f2(mn / lmin)}x/${f2(md / lmed)}x`;
          if (row.judge === 'ratio') judged = md / lmed;
        }
      }
      cells.push(`${f2(mn).padStart(7)}${f2(md).padStart(8)}  ${versus.padEnd(19)}`);
      if (tag === '' && row.done !== undefined) {
        const met = judged <= row.done;
        if (!met) missed++;
        verdict = `${met ? 'met   ' : 'MISSED'} ${row.goal}`;
      } else if (tag === '' && row.goal) verdict = row.goal;
    }
    if (cells.every((c) => !c.trim())) continue;
    out.push(`${row.label.padEnd(46)}${cells.join('')}${verdict}`);
  }
  const dist = tags.map((t) => `${f2(distBytes.get(t)! / 1e6).padStart(12)} MB  ${`${f2(distBytes.get(t)! / 3e6)}x 3 MB`.padEnd(19)}`).join('');
  const distMet = distBytes.get('')! <= 3e6;
  if (!distMet) missed++;
  out.push(`${'dist/ size'.padEnd(46)}${dist}${distMet ? 'met   ' : 'MISSED'} <= 3 MB`);
  out.push('', `"met" judges this build's median against the issue's "done when" bound (${missed} missed); ratios are min/min and median/median of the same run.`);
  const notes = [...new Set([...results.values()].flat().flatMap((s) => s.notes))];
  if (notes.length) out.push(`notes: ${notes.join('; ')}`);
  return `${out.join('\n')}\n`;
}

beforeAll(async () => {
  await bench.setUp();
  actions.set('', await bench.actionDir());
  if (process.env.BENCH_BASELINE) actions.set('before-', bench.copyAction(process.env.BENCH_BASELINE, 'baseline'));
});

afterAll(async () => {
  for (const child of hostDaemons) child.kill('SIGKILL');
  await bench.tearDown();
});

it('measures the job overhead against its limits', async () => {
  const distBytes = new Map([...actions].map(([tag, dir]) => [tag, sizeOf(join(dir, 'dist'))]));
  const facts = [
    ...(await bench.facts()),
    ...(process.env.BENCH_BASELINE ? [`baseline: action.yml + dist/ of ${process.env.BENCH_BASELINE}, run in the same rounds`] : []),
    `${REPS} rounds${WARMUP ? ` after ${WARMUP} warm-up round(s), not counted` : ''}, interleaved round-robin; image ${IMAGE}; ${LOADS} loads per entry per round; checkout simulated by sleep ${CHECKOUT_SECONDS}`,
  ];
  await bench.measure(variants(), { reps: REPS, warmup: WARMUP, settleMs: SETTLE_MS, facts: () => facts, line: (s) => `${f2(s.seconds)} s`, table: (r, f) => table(r, f, distBytes) });
  await bench.finish();
});
