// Start-to-ready benchmark, side by side in one run (see bench/README.md), on bench/harness.ts:
//   (a)  a bare dockerd started directly on the host (the limit)
//   (b)  this action's dind mode, unix socket — privileged: auto (the default) and privileged: false
//   (c1) the common pattern with plain TCP (DOCKER_TLS_CERTDIR="": dockerd on tcp://0.0.0.0:2375 without TLS)
//   (c2) the common pattern with TLS: 4096-bit RSA CA/server/client generated at start, then dockerd --tlsverify :2376
//   (d)  the main step's wait when pre overlapped a checkout of a few seconds
//
//   npm run bench        (= vitest run -c bench/vitest.config.ts)
//   BENCH_REPS=3 BENCH_WARMUP=0 BENCH_ONLY=a,b-false npm run bench -- bench/ready.run.ts
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { INIT_SCRIPT, withheldCapabilities } from '../src/daemon/dind-plan.js';
import type { JobStep } from '../test/harness/runner.js';
import {
  BENCH_LABEL, type Sample, type Target, type Variant, answers, benchmark, detailLines, f2, freePort, goalLine, intEnv, median, now,
  ratioLine, removeDir, run, sleep, waitUntilAnswers,
} from './harness.js';

const REPS = Math.max(1, intEnv('BENCH_REPS', 5));
const WARMUP = intEnv('BENCH_WARMUP', 1);
const RSA_BITS = intEnv('BENCH_RSA_BITS', 4096);
const CHECKOUT_SECONDS = intEnv('BENCH_CHECKOUT_SECONDS', 3);
const SETTLE_MS = intEnv('BENCH_SETTLE_MS', 1000);
const POLL_MS = 10;
const IMAGE = process.env.BENCH_IMAGE || 'local/dind:test';

const bench = benchmark('ready');
interface Ready extends Sample {
  /** start to ready, the number the table compares */
  seconds: number;
}
const hostDaemons = new Set<ChildProcess>();
let withheld: string[] = [];

/**
 * (a) dockerd straight on the host, in its own network namespace, on a fresh socket and data-root, with
 * --bridge=none --iptables=false. With `withBridge` (a'), the default bridge and its iptables rules are set up too
 * (inside that namespace only), which is the work the daemon in a dind container does at every start.
 */
async function bareDockerd(round: string, withBridge = false): Promise<Ready> {
  const dir = join(bench.base, `host${withBridge ? '-bridge' : ''}-${round}`);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const logFd = openSync(logPath, 'w');
  const t0 = now();
  const flags = [`--host=unix://${sock}`, `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/dockerd.pid`, ...(withBridge ? [] : ['--bridge=none', '--iptables=false'])];
  const child = spawn('unshare', ['--net', 'dockerd', ...flags], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  hostDaemons.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    const ms = await waitUntilAnswers(() => ({ socketPath: sock }), t0, async () =>
      running() ? undefined : `dockerd exited (${child.exitCode ?? child.signalCode}): ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    return { seconds: ms / 1000, details: {}, notes: [] };
  } finally {
    if (running() && child.pid) {
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
 * (b) and (d): the built action, timed from pre's start to main's end. Alongside, the benchmark probes the job's
 * socket every POLL_MS itself, which tells when the daemon really answered, apart from when the action noticed it.
 */
async function actionJob(withInputs: Record<string, string>, stepsBefore: JobStep[]): Promise<Ready> {
  let readyLine: number | undefined;
  let answeredAt: number | undefined;
  let preStart: number | undefined;
  const rootDir = bench.dir('j');
  const runnerTemp = join(rootDir, '_temp');
  let watching = true;
  const watcher = (async () => {
    while (watching && answeredAt === undefined) {
      const dir = existsSync(runnerTemp) ? readdirSync(runnerTemp).find((e) => e.startsWith('setup-dind-')) : undefined;
      if (dir && preStart !== undefined && (await answers({ socketPath: join(runnerTemp, dir, 'docker.sock') }))) answeredAt = now();
      else await sleep(POLL_MS);
    }
  })();
  try {
    const timed = await bench.job('the action', { with: { image: IMAGE, ...withInputs }, stepsBefore, rootDir }, (line, t) => {
      if (line.startsWith('=== pre: ')) preStart ??= t;
      if (/^setup-dind: .* is ready \(/.test(line)) readyLine ??= t;
    });
    const { job } = timed;
    const pre = job.phase('pre')!;
    const start = timed.start.get('pre')!;
    const mainEnd = timed.end.get('main');
    if (!pre.ran || mainEnd === undefined || readyLine === undefined) throw new Error(`the action's job did not get ready:\n${job.log.slice(-4000)}`);
    const boot = /\| Boot to ready \| ([\d.]+) s \|/.exec(job.summary);
    return {
      seconds: (mainEnd - start) / 1000,
      details: {
        'pre step': pre.durationMs / 1000,
        'main step': job.phase('main')!.durationMs / 1000,
        'ready-seconds (main waited)': Number(job.outputs['ready-seconds']),
        'boot to ready (summary)': boot ? Number(boot[1]) : NaN,
        'daemon answered (bench probe)': answeredAt !== undefined ? (answeredAt - start) / 1000 : NaN,
        'ready line': (readyLine - start) / 1000,
      },
      notes: /refused --privileged/.test(pre.stdout) ? ['privileged refused, fell back to explicit capabilities'] : [],
    };
  } finally {
    watching = false;
    await watcher;
  }
}

// What docker:dind's dockerd-entrypoint.sh does when DOCKER_TLS_CERTDIR is set: CA, server and client RSA keys and
// certificates, generated at every start (this image has no ip/hostname/awk; the SAN is built with sh alone).
const TLS_SCRIPT = String.raw`set -eu
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

/** (c1)/(c2): `docker run -d` of the dind image the way the common pattern does, reached over a published port. */
async function commonPattern(tls: boolean, round: string): Promise<Ready> {
  const name = `${bench.tag}-${tls ? 'tls' : 'tcp'}-${round}`;
  const inner = tls ? 2376 : 2375;
  const port = await freePort();
  const certDir = join(bench.base, name);
  const tlsArgs = ['--tlsverify', '--tlscacert', '/certs/server/ca.pem', '--tlscert', '/certs/server/cert.pem', '--tlskey', '/certs/server/key.pem'];
  const daemonArgs = ['--host=unix:///var/run/docker.sock', `--host=tcp://0.0.0.0:${inner}`, ...(tls ? tlsArgs : [])];
  if (tls) mkdirSync(certDir, { recursive: true });
  const args = [
    'run', '-d', '--name', name, '--label', `${BENCH_LABEL}=${bench.tag}`, '-p', `127.0.0.1:${port}:${inner}`,
    // --privileged is refused by this engine: the explicit set the action falls back to (and docker:dind docs give).
    '--cap-add', 'ALL', ...withheld.flatMap((c) => ['--cap-drop', c]),
    '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
    '-v', '/var/lib/docker', // docker:dind declares VOLUME /var/lib/docker: an anonymous volume
    ...(tls ? ['-v', `${certDir}:/certs`, '-e', 'DOCKER_TLS_CERTDIR=/certs', '-e', `RSA_BITS=${RSA_BITS}`] : ['-e', 'DOCKER_TLS_CERTDIR=']),
    // The cgroup remount is the action's own INIT_SCRIPT (docker:dind's `dind` wrapper does the same job).
    '--entrypoint', 'sh', IMAGE, '-c', tls ? `${TLS_SCRIPT}\n${INIT_SCRIPT}` : INIT_SCRIPT, 'dind-entrypoint', 'dockerd', ...daemonArgs,
  ];
  const logs = (id: string, tail: string[] = []) =>
    run('docker', ['logs', ...tail, id], { env: { ...process.env, DOCKER_HOST: bench.dockerHost }, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout + r.stderr, () => '');
  const t0 = now();
  try {
    const id = (await bench.dk(args)).trim();
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
      const c = (await bench.bed(`/containers/${id}/json`)) as { State: { Running: boolean; ExitCode: number } };
      return c.State.Running ? undefined : `the container exited (${c.State.ExitCode}):\n${await logs(id, ['--tail', '30'])}`;
    });
    const slowed = /intentionally being slowed down/.test(await logs(id));
    return {
      seconds: ms / 1000,
      details: { 'docker run returned': (runReturned - t0) / 1000, ...(certsAt !== undefined ? { 'client certs present': (certsAt - t0) / 1000 } : {}) },
      notes: slowed ? ['dockerd logged "Startup is intentionally being slowed down"'] : [],
    };
  } finally {
    await bench.dk(['rm', '-f', '-v', name]).catch(() => undefined);
    if (tls) await removeDir(certDir);
  }
}

/** (d): the number is the main step's own wait (`ready-seconds`), what the job actually sees. */
async function actionOverlap(): Promise<Ready> {
  const s = await actionJob({}, [{ name: 'checkout (simulated)', run: `sleep ${CHECKOUT_SECONDS}` }]);
  return { seconds: s.details['ready-seconds (main waited)']!, details: { 'pre start → main end': s.seconds, 'main step': s.details['main step']! }, notes: s.notes };
}

const VARIANTS: Variant<Ready>[] = [
  { key: 'a', label: '(a)  bare dockerd on the host (the limit)', measure: (r) => bareDockerd(r) },
  { key: 'a-bridge', label: "(a') same, with default bridge + iptables", measure: (r) => bareDockerd(r, true) },
  { key: 'b-auto', label: '(b)  action, dind, unix socket, privileged: auto', measure: () => actionJob({}, []) },
  { key: 'b-false', label: "(b') action, dind, unix socket, privileged: false", measure: () => actionJob({ privileged: 'false' }, []) },
  { key: 'c1', label: '(c1) dind, plain TCP :2375 (DOCKER_TLS_CERTDIR="")', measure: (r) => commonPattern(false, r) },
  { key: 'c2', label: `(c2) dind, TLS :2376, RSA-${RSA_BITS} certs made at start`, measure: (r) => commonPattern(true, r) },
  { key: 'd', label: `(d)  action after a ${CHECKOUT_SECONDS} s checkout: main's wait`, measure: () => actionOverlap() },
];

function table(results: Map<string, Ready[]>, facts: string[]): string {
  const variants = VARIANTS.filter((v) => results.get(v.key)?.length);
  const secs = (key: string) => (results.get(key) ?? []).map((s) => s.seconds);
  const med = (key: string) => median(secs(key));
  const out = ['', '=== setup-dind: start-to-ready benchmark ===', ...facts, ''];
  out.push(`${'variant'.padEnd(52)}${'median'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}   n   (seconds)`);
  for (const v of variants) {
    const xs = secs(v.key);
    out.push(`${v.label.padEnd(52)}${f2(median(xs)).padStart(8)}${f2(Math.min(...xs)).padStart(8)}${f2(Math.max(...xs)).padStart(8)}${String(xs.length).padStart(4)}`);
  }
  out.push(...detailLines(variants, results), '', 'ratios (of medians):');
  const bs = [['b-auto', 'auto'], ['b-false', 'false']].filter(([k]) => Number.isFinite(med(k!))) as [string, string][];
  const cs = [['c1', 'plain TCP'], ['c2', 'TLS']].filter(([k]) => Number.isFinite(med(k!))) as [string, string][];
  for (const [bk, bl] of bs) if (Number.isFinite(med('a'))) out.push(ratioLine(`(b ${bl}) / (a)`, med(bk) / med('a')));
  for (const [bk, bl] of bs) if (Number.isFinite(med('a-bridge'))) out.push(ratioLine(`(b ${bl}) / (a')`, med(bk) / med('a-bridge'), '   (informational: the same daemon work as inside dind)'));
  for (const [ck, cl] of cs) for (const [bk, bl] of bs) out.push(ratioLine(`(c ${cl}) / (b ${bl})`, med(ck) / med(bk)));
  if (Number.isFinite(med('d'))) out.push(`  main's wait after a ${CHECKOUT_SECONDS} s checkout: ${f2(med('d'))} s median (min ${f2(Math.min(...secs('d')))}, max ${f2(Math.max(...secs('d')))})`);
  out.push('');
  for (const [bk, bl] of bs) if (Number.isFinite(med('a'))) out.push(goalLine(med(bk) / med('a') <= 1.3, `(b, privileged ${bl}) within 1.3x of (a) — ${f2(med(bk) / med('a'))}x`));
  for (const [bk, bl] of bs) for (const [ck, cl] of cs) out.push(goalLine(med(ck) / med(bk) >= 10, `(b, privileged ${bl}) at least 10x faster than (c, ${cl}) — ${f2(med(ck) / med(bk))}x`));
  return `${out.join('\n')}\n`;
}

beforeAll(async () => {
  await bench.setUp();
  withheld = withheldCapabilities(readFileSync('/proc/self/status', 'utf8'));
});

afterAll(async () => {
  for (const child of hostDaemons) child.kill('SIGKILL');
  await bench.tearDown();
});

it('measures start-to-ready side by side', async () => {
  const imageId = (await bench.dk(['image', 'inspect', '--format', '{{.Id}}', IMAGE])).trim().slice(7, 19);
  const facts = [
    ...(await bench.facts()),
    `image ${IMAGE} (${imageId}); ${REPS} repetitions${WARMUP ? ` after ${WARMUP} discarded warm-up round(s)` : ''}, interleaved round-robin; probes every ${POLL_MS} ms (/_ping then /version); withheld capabilities: ${withheld.join(', ') || 'none'}`,
  ];
  await bench.measure(VARIANTS, { reps: REPS, warmup: WARMUP, settleMs: SETTLE_MS, facts: () => facts, line: (s) => `${f2(s.seconds)} s`, table });
  await bench.finish();
});
