// socket and external modes through the runner harness, on the bed's real engine, running dist/ under Node 24.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser, testUserName, runJob } from '../harness/runner.js';
import { BUSYBOX, actionNode, expectNothingLeft, outerHost, picture, repoRoot, run } from './support.js';

const RUNNER_USER = testUserName('sdrunner');

beforeAll(async () => {
  // Like GitHub-hosted runners: a non-root user in the group that may use the engine's socket.
  await ensureUser(RUNNER_USER, ['docker']);
});

describe('socket mode', () => {
  for (const user of [undefined, RUNNER_USER]) {
    it(`runs a container in a job step and leaves the engine as it was${user ? ' (as a non-root user)' : ''}`, async () => {
      const before = await picture();
      const job = await runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        user,
        env: { DOCKER_HOST: outerHost() },
        with: { mode: 'socket' },
        steps: [{ name: 'hello', run: `id -u; docker run --rm ${BUSYBOX} echo hello` }],
      });
      try {
        expect(job.jobStatus, job.log).toBe('success');
        const step = job.phase('hello')!;
        expect(step.stdout).toContain('hello');
        if (user) expect(step.stdout.split('\n')[0]).not.toBe('0');
        expect(job.outputs['docker-host']).toBe(outerHost());
        expect(job.outputs['daemon-version']).toMatch(/^\d+\.\d+/);
        expect(job.outputs['api-version']).toMatch(/^1\.\d+$/);
        expect(job.outputs['storage-driver']).toBeTruthy();
        expect(Number(job.outputs['ready-seconds'])).toBeGreaterThanOrEqual(0);
        expect(job.exportedEnv.DOCKER_HOST).toBe(outerHost());
        expect(job.summary).toContain('Storage driver');
        await expectNothingLeft(before);
      } finally {
        await job.cleanup();
      }
    });
  }
});

describe('external mode', () => {
  it('fails within wait-timeout + 2 s when the socket does not exist, naming the host', async () => {
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      with: { mode: 'external', 'docker-host': 'unix:///var/tmp/setup-dind-nothing-here.sock', 'wait-timeout': '3' },
      steps: [{ name: 'never', run: 'echo should-not-run' }],
    });
    try {
      expect(job.jobStatus).toBe('failure');
      const main = job.phase('main')!;
      expect(main.exitCode).toBe(1);
      // It gives up at the timeout instead of hanging; the slack is for Node's start on a busy machine, not a speed goal.
      expect(main.durationMs).toBeLessThan(3000 + 8000);
      expect(main.durationMs).toBeGreaterThanOrEqual(2900);
      expect(main.stdout).toMatch(/unix:\/\/\/var\/tmp\/setup-dind-nothing-here.sock did not answer within 3.0 s/);
      expect(job.phase('never')!.ran).toBe(false);
      expect(job.phase('post')!.exitCode).toBe(0);
    } finally {
      await job.cleanup();
    }
  });

  describe('a daemon that starts a few seconds after the step begins', () => {
    const dir = '/var/tmp/setup-dind-late-daemon';
    let daemon: ChildProcess | undefined;

    afterAll(async () => {
      if (daemon?.pid && daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((resolve) => daemon!.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('is waited for, and the job uses it', async () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const host = `unix://${dir}/docker.sock`;
      // A second host daemon lives in its own network namespace, so it can never touch the bed's bridge.
      const timer = setTimeout(() => {
        daemon = spawn('unshare', ['--net', '--', 'dockerd', '--host', host, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`,
          '--pidfile', `${dir}/dockerd.pid`, '--bridge=none', '--iptables=false', '--ip6tables=false'], { stdio: 'ignore' });
      }, 3000);
      const job = await runJob({
        actionDir: repoRoot,
        nodePath: actionNode(),
        with: { mode: 'external', 'docker-host': host, 'wait-timeout': '60' },
        steps: [{ name: 'info', run: 'docker info --format "{{.Name}} {{.Driver}}"' }],
      });
      clearTimeout(timer);
      try {
        expect(job.jobStatus, job.log).toBe('success');
        expect(Number(job.outputs['ready-seconds'])).toBeGreaterThan(2.5);
        expect(job.exportedEnv.DOCKER_HOST).toBe(host);
        expect(job.phase('info')!.exitCode).toBe(0);
        const { stdout } = await run('docker', ['-H', host, 'info', '--format', '{{.DockerRootDir}}']);
        expect(stdout.trim()).toBe(`${dir}/data`);
      } finally {
        await job.cleanup();
      }
    });
  });
});
