// The Quick start's first command: one GitHub job, end to end, on a real engine, told as it happens.
import { parseDockerHost } from '../src/endpoint/endpoint.js';
import { EngineClient } from '../src/engine/client.js';
import { runJob } from '../test/harness/runner.js';

const repoRoot = new URL('..', new URL('..', import.meta.url)).pathname.replace(/\/$/, '');
const outer = process.env.DOCKER_HOST!;
const image = process.env.DEMO_IMAGE ?? 'local/dind:test';
const engine = new EngineClient({ address: parseDockerHost(outer) });

const before = await engine.snapshot();
console.log(`\nRunning a job with setup-dind (mode dind, image ${image}) on the engine at ${outer}\n`);
const job = await runJob({
  actionDir: repoRoot,
  nodePath: process.env.SETUP_DIND_NODE || process.execPath,
  env: { DOCKER_HOST: outer, OUTER_DOCKER_HOST: outer },
  with: { image },
  stepsBefore: [{ name: 'checkout (simulated, 2 s)', run: 'sleep 2' }],
  steps: [
    { name: 'load an image into the job daemon', run: 'docker -H "$OUTER_DOCKER_HOST" save local/busybox:1 | docker load' },
    { name: 'run a container', run: 'docker run --rm local/busybox:1 echo "hello from the job\'s own daemon"' },
    { name: 'what the job sees', run: 'echo "DOCKER_HOST=$DOCKER_HOST"; docker info --format "daemon {{.ServerVersion}}, {{.Driver}}, {{.Containers}} containers, {{.Images}} images"' },
  ],
});

for (const phase of job.phases) {
  const status = phase.ran ? `${phase.conclusion}, ${(phase.durationMs / 1000).toFixed(2)} s` : 'skipped';
  console.log(`── ${phase.phase === 'step' ? 'step' : phase.phase}: ${phase.name} (${status})`);
  const text = (phase.stdout + phase.stderr).replace(/::group::[\s\S]*?::endgroup::\n?/g, '').trim();
  if (text) console.log(text.split('\n').map((l) => `   ${l}`).join('\n'));
}
console.log('\nOutputs:');
for (const [k, v] of Object.entries(job.outputs)) console.log(`   ${k} = ${v}`);
const after = await engine.snapshot();
const left = [
  ...after.containers.filter((c) => !before.containers.includes(c)).map((c) => `container ${c.slice(0, 12)}`),
  ...after.volumes.filter((v) => !before.volumes.includes(v)).map((v) => `volume ${v}`),
  ...after.networks.filter((n) => !before.networks.includes(n)).map((n) => `network ${n.slice(0, 12)}`),
];
console.log(`\nJob status: ${job.jobStatus}. Left on the engine after post: ${left.length ? left.join(', ') : 'nothing'}.`);
await job.cleanup();
process.exit(job.jobStatus === 'success' && left.length === 0 ? 0 : 1);
