// The engine located like the docker CLI, the docker context "setup-dind", set-host, and the job daemon's address
// plan (default-address-pools, bip): the built action through the runner harness on the bed.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJob, type JobResult, type RunJobOptions } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot, run } from './support.js';

function job(options: Partial<RunJobOptions> & { with?: Record<string, string> }): Promise<JobResult> {
  return runJob({ actionDir: repoRoot, nodePath: actionNode(), ...options, with: { image: DIND_IMAGE, ...options.with } });
}

/** A docker config directory with a context "bed" for the bed's engine, made by the docker CLI itself. */
async function configWithBedContext(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-docker-config-'));
  await run('docker', ['context', 'create', 'bed', '--docker', `host=${outerHost()}`], { env: { ...process.env, DOCKER_CONFIG: dir } });
  return dir;
}

const listing = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();
// The inner daemon has no images at first; the bed (outer engine) has the dind image.
const WHICH = `if docker image inspect ${DIND_IMAGE} >/dev/null 2>&1; then echo outer; else echo inner; fi`;

describe('the engine the action talks to', () => {
  it('finds the bed through DOCKER_CONTEXT, exports DOCKER_HOST, and offers the context setup-dind', async () => {
    const config = await configWithBedContext();
    const before = await picture();
    const filesBefore = listing(config);
    const result = await job({
      env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'bed' },
      steps: [
        { name: 'which', run: WHICH },
        { name: 'context', run: `docker --context setup-dind info --format '{{.Name}}'; docker info --format '{{.Name}}'; ${WHICH.replace('docker image', 'docker --context bed image')}` },
      ],
    });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      expect(result.exportedEnv.DOCKER_HOST).toMatch(/^unix:\/\/.*docker.sock$/);
      expect(result.phase('which')!.stdout.trim()).toBe('inner');
      const [viaContext, viaHost] = result.phase('context')!.stdout.trim().split('\n');
      expect(viaContext).toBe(viaHost);
      expect(result.phase('context')!.stdout).toMatch(/outer/);
      expect(result.phase('main')!.stdout).toMatch(/DOCKER_HOST is exported; the docker context "setup-dind"/);
      await expectNothingLeft(before);
      // The context is gone and the config directory is as the CLI left it.
      expect(listing(config)).toEqual(filesBefore);
    } finally {
      await result.cleanup();
    }
  });

  it('set-host false: finds the bed as the current context of the config, makes setup-dind current, restores config.json', async () => {
    const config = await configWithBedContext();
    writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'bed', auths: {} }, null, 1));
    const configBefore = readFileSync(join(config, 'config.json'), 'utf8');
    const before = await picture();
    const result = await job({
      env: { DOCKER_CONFIG: config },
      with: { 'set-host': 'false' },
      steps: [{ name: 'which', run: `echo "host=\${DOCKER_HOST:-unset}"; docker context show; ${WHICH}` }],
    });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      expect(result.exportedEnv.DOCKER_HOST).toBeUndefined();
      expect(result.phase('which')!.stdout.trim().split('\n')).toEqual(['host=unset', 'setup-dind', 'inner']);
      expect(result.phase('main')!.stdout).toMatch(/uses the current context "setup-dind"/);
      expect(result.outputs['docker-host']).toMatch(/^unix:\/\//);
      await expectNothingLeft(before);
      expect(readFileSync(join(config, 'config.json'), 'utf8')).toBe(configBefore);
    } finally {
      await result.cleanup();
    }
  });

  it('names the context and the remedy when DOCKER_CONTEXT names one that does not exist', async () => {
    const config = await configWithBedContext();
    const before = await picture();
    const result = await job({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'nope' }, steps: [] });
    try {
      expect(result.jobStatus).toBe('failure');
      expect(result.log).toMatch(/docker context "nope" \(from DOCKER_CONTEXT\): does not exist .*create it with docker context create/);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });
});

describe('the job daemon\'s address plan', () => {
  it('takes network subnets from default-address-pools and the default bridge from bip', async () => {
    const before = await picture();
    const result = await job({
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      with: { 'default-address-pools': 'base=10.213.0.0/16,size=24\nbase=10.214.0.0/16,size=26', bip: '10.215.7.1/24' },
      steps: [
        { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q` },
        {
          name: 'addresses',
          run: [
            'docker network create sd-pool-net >/dev/null',
            `docker network inspect sd-pool-net --format '{{(index .IPAM.Config 0).Subnet}}'`,
            `docker run --rm --network sd-pool-net ${BUSYBOX} sh -c "ip -4 -o addr show eth0 | awk '{print \\$4}'"`,
            `docker run --rm ${BUSYBOX} sh -c "ip -4 -o addr show eth0 | awk '{print \\$4}'"`,
          ].join('\n'),
        },
      ],
    });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      const [subnet, onPool, onBridge] = result.phase('addresses')!.stdout.trim().split('\n');
      expect(subnet).toBe('10.213.0.0/24');
      expect(onPool).toMatch(/^10\.213\.0\.\d+\/24$/);
      expect(onBridge).toMatch(/^10\.215\.7\.\d+\/24$/);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });
});
