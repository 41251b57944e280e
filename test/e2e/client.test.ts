// client: true on the bed. The trixie dind image carries Debian's docker CLI 26.1 and its buildx plugin, while the
// bed's own CLI is 20.10 with no buildx: a later step's `docker` must be the image's (its version equals the
// daemon's), found first on PATH, and `docker buildx` must run the image's plugin through that CLI. Post removes the
// directory and takes the plugin directory out of the docker config again.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot, runnerEnv } from './support.js';

const TRIXIE = 'local/dind:trixie';

let work: string;
let haveTrixie = false;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'client-e2e-'));
  haveTrixie = Boolean((await docker(['images', '-q', TRIXIE])).trim());
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

// trixie's CLI 26.1 with buildx; sid's 28.5 with buildx 0.29 and compose v2.
const IMAGES = [
  { image: TRIXIE, version: /^26\./, plugins: 'buildx' },
  { image: 'local/dind:sid', version: /^28\./, plugins: 'buildx, compose' },
];

describe('client: true', () => {
  it.for(IMAGES)("$image: later steps run the dind image's docker CLI and its plugins; post removes them and restores the config", async ({ image, version, plugins }, t) => {
    if (!(await docker(['images', '-q', image])).trim()) t.skip(`${image} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const config = join(work, 'docker-config');
    mkdirSync(config, { recursive: true });
    const configBefore = `${JSON.stringify({ auths: {}, detachKeys: 'ctrl-x' }, null, 2)}\n`;
    writeFileSync(join(config, 'config.json'), configBefore);
    const before = await picture([config]);
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost(), DOCKER_CONFIG: config },
      with: { image, client: 'true' },
      steps: [
        { name: 'which', run: 'command -v docker' },
        { name: 'versions', run: "docker version --format '{{.Client.Version}} {{.Server.Version}}' && /usr/bin/docker version --format '{{.Client.Version}}'" },
        { name: 'plugin', run: 'docker buildx version && docker info --format "{{range .ClientInfo.Plugins}}{{.Name}} {{.Path}}{{end}}"' },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      const cli = job.phase('which')!.stdout.trim();
      expect(cli).toMatch(/\/setup-dind-[^/]+\/client\/docker$/);
      const [client, server, host] = job.phase('versions')!.stdout.trim().split(/\s+/);
      // The image's CLI: the daemon's own version (26.1), not the runner's (20.10).
      expect(client).toBe(server);
      expect(client).toMatch(version);
      expect(host).toMatch(/^20\.10\./);
      const plugin = job.phase('plugin')!.stdout;
      expect(plugin).toMatch(/^github\.com\/docker\/buildx /m);
      // The image's plugin, in the job's directory (the runner has no buildx plugin at all).
      expect(plugin).toContain(`buildx ${join(cli, '..', 'cli-plugins', 'docker-buildx')}`);
      expect(job.phase('main')!.stdout).toContain(`setup-dind: the docker CLI of ${image} (/usr/bin/docker) with the plugins ${plugins} in `);
      expect(job.phase('main')!.stdout).toMatch(/ in \S+\/client \(copied in \d+\.\d\d s, while the daemon started\), first on PATH/);
      // Gone after post, and the config as it was.
      expect(existsSync(cli)).toBe(false);
      expect(readFileSync(join(config, 'config.json'), 'utf8')).toBe(`${JSON.stringify(JSON.parse(configBefore), null, 2)}\n`);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });

  it('the CLI (GitLab): `eval "$(setup-dind env)"` puts the image\'s CLI first on the shell\'s PATH; stop removes it', async (t) => {
    if (!haveTrixie) t.skip(`${TRIXIE} is not on the bed`);
    const CLI = join(repoRoot, 'dist', 'cli', 'index.js');
    const config = join(work, 'cli-config');
    const stateDir = join(work, 'cli-state');
    const before = await picture([work]);
    const env = { PATH: process.env.PATH!, ...runnerEnv(), DOCKER_HOST: outerHost(), DOCKER_CONFIG: config, SETUP_DIND_STATE_DIR: stateDir };
    const exec = promisify(execFile);
    const start = await exec(actionNode(), [CLI, 'start', '--image', TRIXIE, '--client', 'true'], { env });
    expect(start.stdout).toMatch(/is ready/);
    try {
      const script = `eval "$("${actionNode()}" ${CLI} env)" && command -v docker && docker version --format '{{.Client.Version}} {{.Server.Version}}'`;
      const { stdout } = await exec('sh', ['-c', script], { env });
      const [path, client, server] = stdout.trim().split(/\s+/);
      // The job directory is the session's (setup-dind-<session>), not anything else in the state that has the name.
      const stored = (JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as Record<string, string>)['setup-dind']!;
      const { session } = JSON.parse(stored) as { session: string };
      expect(path).toBe(join(stateDir, `setup-dind-${session}`, 'client', 'docker'));
      expect(client).toBe(server);
      expect(client).toMatch(/^26\./);
    } finally {
      await exec(actionNode(), [CLI, 'stop'], { env });
    }
    expect(existsSync(config)).toBe(false); // made for the plugins (and the context), gone with them
    await expectNothingLeft(before);
  });

  it('mode socket refuses it before anything starts, naming the input and the remedy', async () => {
    const before = await picture();
    const job = await runJob({ actionDir: repoRoot, nodePath: actionNode(), env: { DOCKER_HOST: outerHost() }, with: { mode: 'socket', client: 'true' } });
    try {
      expect(job.jobStatus, job.log).toBe('failure');
      expect(job.phase('pre')!.stdout).toMatch(/input "client": "true" copies the docker CLI out of the dind image, and mode socket runs no dind image; remove it/);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  });
});
