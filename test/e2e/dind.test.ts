// dind mode end to end: the action (dist/, Node 24) through the runner harness on the bed's engine.
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LABEL_SESSION } from '../../src/session/session.js';
import { ensureUser, testUserName } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, dindJob, docker, expectNothingLeft, outerEngine, outerHost, picture } from './support.js';

const RUNNER_USER = testUserName('sdrunner');
const BROKEN_IMAGE = 'local/dind-broken:test';


/** Nothing of ours in RUNNER_TEMP after post (the runner's own _runner_file_commands and the like may stay). */
const oursIn = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('setup-dind'));

beforeAll(async () => {
  await ensureUser(RUNNER_USER, ['docker']);
  // A dind-compatible image whose dockerd dies at once.
  const images = await docker(['images', '-q', BROKEN_IMAGE]);
  if (!images.trim()) {
    const dockerfile = `FROM ${BUSYBOX}\nRUN printf '#!/bin/sh\\necho "dockerd: failed to start daemon: this image is broken on purpose" >&2\\nexit 1\\n' > /bin/dockerd && chmod +x /bin/dockerd\n`;
    const { spawnSync } = await import('node:child_process');
    const built = spawnSync('docker', ['build', '-q', '-t', BROKEN_IMAGE, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    if (built.status !== 0) throw new Error(`building ${BROKEN_IMAGE} failed: ${built.stderr}`);
  }
});

describe('dind mode', () => {
  it('gives the job its own daemon: load, run and build inside it, without seeing the outer engine', async () => {
    const before = await picture();
    const outerContainers = await docker(['ps', '-aq', '--no-trunc']);
    const job = await dindJob({
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      stepsBefore: [{ name: 'checkout', run: 'sleep 2' }],
      steps: [
        { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load` },
        { name: 'nested', run: `docker run --rm ${BUSYBOX} echo nested` },
        {
          name: 'build',
          run: `mkdir -p ctx && printf 'FROM ${BUSYBOX}\\nRUN echo built-inside > /msg\\nCMD ["cat", "/msg"]\\n' > ctx/Dockerfile && DOCKER_BUILDKIT=0 docker build -q -t inner/app:1 ctx && docker run --rm inner/app:1`,
        },
        { name: 'isolation', run: 'docker ps -aq --no-trunc; echo ---; docker images --format "{{.Repository}}:{{.Tag}}"' },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.exportedEnv.DOCKER_HOST).toMatch(new RegExp(`^unix://${job.runnerTemp}/setup-dind-[a-z0-9-]+/docker.sock$`));
      expect(job.phase('nested')!.stdout).toContain('nested');
      expect(job.phase('build')!.stdout).toContain('built-inside');
      const [innerContainers, innerImages] = job.phase('isolation')!.stdout.split('---');
      for (const id of outerContainers.trim().split('\n').filter(Boolean)) expect(innerContainers).not.toContain(id);
      expect(innerImages).not.toContain(DIND_IMAGE);
      expect(innerImages).toContain('inner/app:1');
      expect(job.outputs['container-id']).toMatch(/^[0-9a-f]{64}$/);
      expect(job.outputs['storage-driver']).toBeTruthy();
      // pre booted the daemon during the checkout; main only waited for it (how fast is bench/'s business).
      expect(job.phase('pre')!.stdout).toMatch(/dind daemon starting/);
      expect(job.phase('main')!.stdout).not.toMatch(/dind daemon starting/);
      expect(Number(job.outputs['ready-seconds'])).toBeGreaterThanOrEqual(0);
      // This host withholds CAP_SYS_RESOURCE: the engine refuses --privileged, and the fallback is named exactly.
      expect(job.phase('pre')!.stdout).toMatch(/The engine refused privileged \(.*unable to apply caps.*\)\. THE DAEMON'S CONTAINER RUNS WITH EVERY CAPABILITY EXCEPT SYS_RESOURCE/);
      expect(job.summary).toMatch(/Boot to ready/);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('prints the daemon log when a step fails, and still cleans up', async () => {
    const before = await picture();
    const job = await dindJob({ steps: [{ name: 'fails', run: 'docker info >/dev/null && exit 3' }] });
    try {
      expect(job.jobStatus).toBe('failure');
      const post = job.phase('post')!;
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toMatch(/::group::Docker daemon log \(the job status is failure\)/);
      // dockerd's own socket: the job's (docker.sock) is the run check's gate until it passed (run-gate.ts).
      expect(post.stdout).toMatch(/API listen on \/run\/setup-dind\/daemon.sock/);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('does not print the daemon log after a successful job', async () => {
    const job = await dindJob({ steps: [{ name: 'ok', run: 'docker version >/dev/null' }] });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('post')!.stdout).not.toMatch(/Docker daemon log/);
    } finally {
      await job.cleanup();
    }
  });

  it('runs two jobs at once on one engine without collisions', async () => {
    const before = await picture();
    // The same container name in both inner daemons: each job has a daemon of its own.
    const step = { name: 'who', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null; docker create --name same-name-in-both ${BUSYBOX} true >/dev/null; docker ps -aq | wc -l` };
    const [a, b] = await Promise.all([
      dindJob({ runId: '7001', jobName: 'matrix', env: { DOCKER_HOST: outerHost(), OUTER: outerHost() }, steps: [step] }),
      dindJob({ runId: '7001', jobName: 'matrix', env: { DOCKER_HOST: outerHost(), OUTER: outerHost() }, steps: [step] }),
    ]);
    try {
      expect(a.jobStatus, a.log).toBe('success');
      expect(b.jobStatus, b.log).toBe('success');
      expect(a.outputs['container-id']).not.toBe(b.outputs['container-id']);
      expect(a.exportedEnv.DOCKER_HOST).not.toBe(b.exportedEnv.DOCKER_HOST);
      for (const job of [a, b]) expect(job.phase('who')!.stdout.trim()).toBe('1');
      await expectNothingLeft(before);
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()]);
    }
  });

  it('works for a non-root runner user: the socket belongs to the user\'s group', async () => {
    const before = await picture();
    const job = await dindJob({
      user: RUNNER_USER,
      steps: [{ name: 'as-user', run: `id -u; stat -c '%a %g' "\${DOCKER_HOST#unix://}"; id -g; docker version --format '{{.Server.Version}}'` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const [uid, modeAndGroup, gid, version] = job.phase('as-user')!.stdout.trim().split('\n');
      expect(uid).not.toBe('0');
      expect(modeAndGroup).toBe(`660 ${gid}`);
      expect(version).toMatch(/^\d+\./);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('offers TCP only with TLS, on 127.0.0.1, with per-job certificates', async () => {
    const before = await picture();
    const job = await dindJob({
      with: { tcp: 'true' },
      steps: [
        { name: 'tls', run: 'docker version --format "{{.Server.Version}}" && ls -l "$DOCKER_CERT_PATH" && stat -c "%a %n" "$DOCKER_CERT_PATH"/key.pem' },
        { name: 'no-cert', run: 'DOCKER_TLS_VERIFY= DOCKER_CERT_PATH= docker version 2>&1 || echo refused-without-cert' },
        { name: 'ports', run: `docker -H "$OUTER" ps --filter "label=${LABEL_SESSION}" --format '{{.Ports}}'` },
      ],
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.exportedEnv.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(job.exportedEnv.DOCKER_TLS_VERIFY).toBe('1');
      expect(job.exportedEnv.DOCKER_CERT_PATH).toBe(job.outputs['cert-path']);
      expect(job.phase('tls')!.stdout).toMatch(/600 .*key.pem/);
      expect(job.phase('no-cert')!.stdout).toContain('refused-without-cert');
      // Published on the loopback address only.
      expect(job.phase('ports')!.stdout.trim()).toMatch(/^127\.0\.0\.1:\d+->2376\/tcp$/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('starts the daemon in main when pre did not run', async () => {
    const before = await picture();
    const job = await dindJob({ skipPre: true, steps: [{ name: 'ok', run: 'docker version --format "{{.Server.Version}}"' }] });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('pre')?.ran ?? false).toBe(false);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('attaches the daemon to a network with the alias docker, and removes the network it created', async () => {
    const before = await picture();
    const job = await dindJob({
      with: { network: 'sd-e2e-net', tcp: 'true' },
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      // A service container on the network reaches the daemon as docker:2376, with the job's client certificate.
      steps: [{
        name: 'alias',
        run: `docker -H "$OUTER" run --rm --network sd-e2e-net --mount "type=bind,source=$DOCKER_CERT_PATH,target=/certs,readonly" ${DIND_IMAGE} docker -H tcp://docker:2376 --tlsverify --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem version --format "via-alias {{.Server.Version}}"`,
      }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('alias')!.stdout).toMatch(/via-alias \d+\./);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('fails fast with the log of a daemon that exits at once, and leaves nothing', async () => {
    const before = await picture();
    const job = await dindJob({ with: { image: BROKEN_IMAGE, 'wait-timeout': '60' }, steps: [{ name: 'never', run: 'true' }] });
    try {
      expect(job.jobStatus).toBe('failure');
      const main = job.phase('main')!;
      expect(main.durationMs).toBeLessThan(10_000);
      expect(main.stdout).toMatch(/will not become ready: its container exited with code 1/);
      expect(main.stdout).toMatch(/this image is broken on purpose/);
      expect(job.phase('never')!.ran).toBe(false);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('labels everything it creates with the session', async () => {
    const job = await dindJob({
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      steps: [{ name: 'labels', run: `docker -H "$OUTER" ps --filter label=${LABEL_SESSION} --format '{{.Names}}'; docker -H "$OUTER" volume ls --filter label=${LABEL_SESSION} -q` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const lines = job.phase('labels')!.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(lines[1]);
      expect((await outerEngine().listLabelled(LABEL_SESSION)).containers).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('fails in pre with what it tried when the daemon cannot be started, and leaves nothing', async () => {
    const before = await picture();
    const job = await dindJob({ with: { runtime: 'no-such-runtime' }, steps: [{ name: 'never', run: 'true' }] });
    try {
      expect(job.jobStatus).toBe('failure');
      const pre = job.phase('pre')!;
      expect(pre.stdout).toMatch(/Could not start the dind container \(runtime: .*no-such-runtime/);
      expect(pre.stdout).toMatch(/Check that the engine has the runtime "no-such-runtime"/);
      expect(job.phase('never')!.ran).toBe(false);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('says so when the image is missing and cannot be pulled, and leaves nothing', async () => {
    const before = await picture();
    const job = await dindJob({ with: { image: 'local/no-such-dind:1' } });
    try {
      expect(job.jobStatus).toBe('failure');
      expect(job.phase('pre')!.stdout).toMatch(/pulling local\/no-such-dind:1 on unix:\/\/.* failed/);
      await expectNothingLeft(before);
      expect(oursIn(job.runnerTemp)).toEqual([]);
    } finally {
      await job.cleanup();
    }
  });

  it('starts nothing when inputs are invalid, and reports them all at once', async () => {
    const before = await picture();
    const job = await dindJob({ with: { 'wait-timeout': 'soon', privileged: 'yes', 'daemon-args': '--host=tcp://0.0.0.0:2375' } });
    try {
      expect(job.jobStatus).toBe('failure');
      const pre = job.phase('pre')!;
      expect(pre.stdout).toMatch(/3 inputs are invalid/);
      expect(pre.stdout).toMatch(/input "wait-timeout": \\"soon\\"|input "wait-timeout": "soon"/);
      expect(pre.stdout).toMatch(/Nothing was started/);
      expect(job.phase('post')!.stdout).toMatch(/nothing to clean up/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
