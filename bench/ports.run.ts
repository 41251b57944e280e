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
