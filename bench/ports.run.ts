// The port forwarder's cost, side by side in one run (see bench/README.md): the same TCP server reached directly and
// through PortForwarder (src/background/forwarder.ts), interleaved round by round. No engine: the relay alone.
//   npm run bench -- bench/ports.run.ts        BENCH_REPS=5 BENCH_CONNECTS=2000 BENCH_MB=256
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PortForwarder } from '../src/background/forwarder.js';

const REPS = Number(process.env.BENCH_REPS || 5);
const CONNECTS = Number(process.env.BENCH_CONNECTS || 2000);
const MB = Number(process.env.BENCH_MB || 256);

let server: net.Server;
let port = 0;
let forwarder: PortForwarder;

beforeAll(async () => {
  // Echoes what it gets; a client that sends "sink" first has the rest counted and acknowledged at the end.
  server = net.createServer({ allowHalfOpen: true }, (s) => {
    let sink = false;
    let count = 0;
    s.once('data', (first) => {
      if (first.subarray(0, 4).toString() === 'sink') {
        sink = true;
        count = first.length - 4;
        s.on('data', (d) => (count += d.length));
      } else s.write(first);
      if (!sink) s.on('data', (d) => s.write(d));
    });
    s.on('end', () => (sink ? s.end(String(count)) : s.end()));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  forwarder = new PortForwarder('127.0.0.1', ['127.0.0.2'], () => undefined);
  await forwarder.sync('bench', [port]);
});

afterAll(() => {
  forwarder.close();
  server.close();
});

/** Connect, send 64 bytes, read them back, close: the time of one short request on a new connection (µs). */
function roundTrip(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const c = net.connect({ host, port }, () => c.write(Buffer.alloc(64, 1)));
    let got = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got >= 64) {
        c.destroy();
        resolve(Number(process.hrtime.bigint() - started) / 1000);
      }
    });
    c.on('error', reject);
  });
}

/** Sends MB megabytes over one connection and waits for the server's count (MB/s). */
function throughput(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const started = process.hrtime.bigint();
    const c = net.connect({ host, port, allowHalfOpen: true }, async () => {
      c.write('sink');
      for (let i = 0; i < MB; i++) if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
      c.end();
    });
    let answer = '';
    c.on('data', (d) => (answer += d));
    c.on('end', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (Number(answer) !== MB * 1024 * 1024) reject(new Error(`the server counted ${answer} bytes`));
      else resolve(MB / seconds);
      c.destroy();
    });
    c.on('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('measures the forwarder against a direct connection', async () => {
  const variants = { direct: '127.0.0.1', forwarded: '127.0.0.2' } as const;
  const latency: Record<string, number[]> = { direct: [], forwarded: [] };
  const rate: Record<string, number[]> = { direct: [], forwarded: [] };
  for (let i = 0; i < 100; i++) for (const host of Object.values(variants)) await roundTrip(host); // warm-up
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? (['forwarded', 'direct'] as const) : (['direct', 'forwarded'] as const);
    for (const v of order) {
      for (let i = 0; i < CONNECTS / REPS; i++) latency[v]!.push(await roundTrip(variants[v]));
      rate[v]!.push(await throughput(variants[v]));
    }
  }
  const row = (v: string) => `| ${v} | ${median(latency[v]!).toFixed(0)} µs | ${median(rate[v]!).toFixed(0)} MB/s |`;
  console.log([
    '',
    `| path | new connection + 64 B round trip (median of ${CONNECTS}) | ${MB} MB upload (median of ${REPS}) |`,
    '|---|---|---|',
    row('direct'),
    row('forwarded'),
    `| ratio forwarded/direct | ${(median(latency.forwarded!) / median(latency.direct!)).toFixed(2)}× | ${(median(rate.forwarded!) / median(rate.direct!)).toFixed(2)}× |`,
    '',
  ].join('\n'));
  expect(latency.forwarded!.length).toBe(latency.direct!.length);
});

// What the isolation adds, in ms: pre reserves a block of host ports (with other jobs' live entries beside it) and
// post releases it; each published port is claimed through the wrapper before dockerd's own proxy runs (a step's
// `docker run -p`). Timed alone, in one run: the engine is not involved (its cost is the same with and without).
it('measures the port reservation (pre, post) and a port claim (each published port)', async () => {
  const { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } = await import('node:fs');
  const { execFile } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { hostDeps, releaseBlock, reserveBlock } = await import('../src/background/port-range.js');
  const { CLAIMS_DIR, USERLAND_PROXY_WRAPPER, serveClaims } = await import('../src/background/port-claims.js');
  const dir = mkdtempSync(join(tmpdir(), 'sd-bench-ports-'));
  try {
    const deps = { ...hostDeps(join(dir, 'reservations')), argvOf: (pid: number) => (pid === process.pid ? ['bench'] : undefined) };
    mkdirSync(deps.dir);
    // Eight other jobs hold blocks (live holders): a new job walks past them.
    for (let i = 0; i < 8; i++) reserveBlock({ session: `other-${i}`, jobDir: '/x', holder: { pid: process.pid, argv: ['bench'] } }, deps);
    const reserve: number[] = [];
    const release: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const r = reserveBlock({ session: 'me', jobDir: '/x', holder: { pid: process.pid, argv: ['bench'] } }, deps)!;
      const t1 = performance.now();
      releaseBlock(r, 'me');
      release.push(performance.now() - t1);
      reserve.push(t1 - t0);
    }
    // A claim: the wrapper (sh) asks, the forwarder's side answers, then a stand-in for docker-proxy says "0".
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(dir, 'wrapper'), USERLAND_PROXY_WRAPPER);
    chmodSync(join(dir, 'wrapper'), 0o755);
    writeFileSync(join(bin, 'docker-proxy'), "#!/bin/sh\nprintf '0\\n' >&3\n");
    chmodSync(join(bin, 'docker-proxy'), 0o755);
    const env = { PATH: `${bin}:/usr/bin:/bin`, SETUP_DIND_CLAIMS_DIR: join(dir, CLAIMS_DIR) };
    // Asynchronously: the claims are answered by this very process's event loop.
    const run = (withClaims: boolean) =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const args = ['-c', `exec 3>/dev/null; exec ${join(dir, 'wrapper')} -proto tcp -host-ip 0.0.0.0 -host-port ${withClaims ? 40000 : 40001} -container-ip 172.18.0.2 -container-port 80`];
        execFile('sh', args, { env }, (e) => (e ? reject(e) : resolve(performance.now() - t0)));
      });
    const plain: number[] = [];
    const claimed: number[] = [];
    let stop = serveClaims(dir, async () => undefined, () => undefined, 100);
    for (let i = 0; i < 40; i++) {
      claimed.push(await run(true));
      stop(); // no claims directory: the wrapper goes straight to docker-proxy
      plain.push(await run(false));
      stop = serveClaims(dir, async () => undefined, () => undefined, 100);
    }
    stop();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log([
      '',
      '| what | median | min |',
      '|---|---|---|',
      `| pre: reserve a block (8 other jobs' entries) | ${med(reserve).toFixed(2)} ms | ${Math.min(...reserve).toFixed(2)} ms |`,
      `| post: release it | ${med(release).toFixed(2)} ms | ${Math.min(...release).toFixed(2)} ms |`,
      `| a published port: wrapper without claims (dockerd's proxy start as before) | ${med(plain).toFixed(1)} ms | ${Math.min(...plain).toFixed(1)} ms |`,
      `| a published port: wrapper with the claim answered | ${med(claimed).toFixed(1)} ms | ${Math.min(...claimed).toFixed(1)} ms |`,
      '',
    ].join('\n'));
    expect(reserve.length).toBe(200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
