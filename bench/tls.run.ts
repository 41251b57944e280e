// Per-job certificates, side by side in one run (see bench/README.md): generateTls (src/endpoint/tls.ts: an ECDSA
// P-256 CA, server and client, in-process) against the common pattern's key generation (three 4096-bit RSA keys, as
// docker:dind's entrypoint makes them with openssl), interleaved, min and median. Moved here from src/tls.test.ts,
// where "is fast" only logged a time.
//
//   npm run bench -- bench/tls.run.ts      (BENCH_REPS=20 by default)
import { generateKeyPairSync } from 'node:crypto';
import { it } from 'vitest';
import { generateTls } from '../src/endpoint/tls.js';

const REPS = Number(process.env.BENCH_REPS ?? 20);

const timed = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
};

it('per-job certificates: generateTls against three 4096-bit RSA keys', () => {
  const ours: number[] = [];
  const rsa: number[] = [];
  for (let i = 0; i < REPS; i++) {
    ours.push(timed(() => generateTls({ serverNames: ['127.0.0.1', 'docker'] })));
    // Fewer RSA rounds: each takes seconds on a 2-core runner.
    if (i % Math.max(1, Math.floor(REPS / 3)) === 0) rsa.push(timed(() => { for (let k = 0; k < 3; k++) generateKeyPairSync('rsa', { modulusLength: 4096 }); }));
  }
  const a = stats(ours);
  const b = stats(rsa);
  process.stdout.write(
    `\ngenerateTls (ECDSA CA/server/client): min ${a.min.toFixed(2)} ms, median ${a.median.toFixed(2)} ms (${ours.length} runs)\n` +
      `3 x RSA-4096 keys:                    min ${b.min.toFixed(0)} ms, median ${b.median.toFixed(0)} ms (${rsa.length} runs)\n` +
      `ratio (median): ${(a.median / b.median).toFixed(4)}\n`,
  );
});
