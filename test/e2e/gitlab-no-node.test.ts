// GitLab jobs whose image has the docker CLI and no Node.js (docker:cli, docker:<version>: Alpine without Node), run
// by gitlab-ci-local on its docker executor against the bed's engine. The image is built here: busybox, the docker
// CLI binary and the C library it links, and nothing else. The dind-service component's wait then runs in POSIX sh
// (waits for the client certificates, then polls `docker version` with backoff, the CLI's messages and exit codes);
// the setup-dind component stops at once with an error that names the remedies.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { GITLAB_CI_LOCAL, NODE22, ciHome, gitProject, jobLines, runGitlabCiLocal } from './gitlab-ci-local.js';
import { DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot, runnerEnv } from './support.js';

const exec = promisify(execFile);
const CLI = join(repoRoot, 'dist', 'cli', 'index.js');
const IMAGE = `local/docker-cli-no-node:${randomBytes(3).toString('hex')}`;

const work = mkdtempSync(join(tmpdir(), 'sd-gitlab-no-node-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** busybox + /usr/bin/docker + the shared objects ldd names: an Alpine-like docker:cli without Node. */
async function buildImage(): Promise<void> {
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'usr/local/bin', 'tmp', 'etc', 'root']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  const { stdout: applets } = await exec('/bin/busybox', ['--list']);
  for (const a of applets.split('\n').filter((x) => x && x !== 'busybox')) symlinkSync('busybox', join(root, 'bin', a));
  copyFileSync('/usr/bin/docker', join(root, 'usr', 'local', 'bin', 'docker'));
  const { stdout: ldd } = await exec('ldd', ['/usr/bin/docker']);
  for (const lib of [...ldd.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!)) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    cpSync(lib, join(root, lib), { dereference: true });
  }
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  const tar = join(work, 'rootfs.tar');
  await exec('tar', ['-C', root, '-cf', tar, '.']);
  await docker(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/usr/local/bin:/bin', tar, IMAGE]);
  rmSync(root, { recursive: true, force: true });
  rmSync(tar, { force: true });
}

function pipeline(dir: string, extra: string[]): Promise<{ code: number; log: string }> {
  const args = ['--no-color', '--pull-policy', 'if-not-present', '--helper-image', IMAGE, '--ignore-predefined-vars', 'GITLAB_CI', ...extra];
  return runGitlabCiLocal(dir, args, { HOME: ciHome(work), DOCKER_HOST: outerHost() }, 150_000);
}

async function project(gitlabCi: string): Promise<string> {
  const dir = mkdtempSync(join(work, 'project-'));
  await gitProject(dir, gitlabCi, 'https://gitlab.example.com/setup-dind/no-node.git');
  return dir;
}

describe('GitLab jobs on an image with the docker CLI and no Node.js (gitlab-ci-local, docker executor)', () => {
  beforeAll(async () => {
    if (!existsSync(GITLAB_CI_LOCAL) || !existsSync(NODE22)) throw new Error('gitlab-ci-local or Node 22 is missing: run the tests through scripts/test.sh');
    await buildImage();
  }, 240_000);
  afterAll(async () => {
    await docker(['image', 'rm', IMAGE]).catch(() => undefined);
  });

  it('the image really has no node, and its docker CLI runs', async () => {
    const out = await docker(['run', '--rm', IMAGE, 'sh', '-c', 'command -v node || echo no-node; docker --version']);
    expect(out).toMatch(/^no-node\nDocker version /);
  });

  it('dind-service: sh waits for the certificates and the TLS daemon (reached as "docker"); one that never answers fails in time; setup-dind names the remedy', async () => {
    const before = await picture();
    // The service's daemon: a dind with TLS on a network of its own, reached by the alias "docker" (what a GitLab
    // service is), started with the CLI; its client certificates appear in the job's /certs/client 2 s late.
    const network = `sd-gl-no-node-${randomBytes(3).toString('hex')}`;
    const stateDir = join(work, 'service');
    const env = { PATH: process.env.PATH!, ...runnerEnv(), DOCKER_HOST: outerHost(), CI_PIPELINE_ID: String(900_000 + Math.floor(Math.random() * 99_999)), CI_JOB_ID: 'service', SETUP_DIND_STATE_DIR: stateDir };
    const cli = (args: string[]) => exec(actionNode(), [CLI, ...args], { env });
    await cli(['start', '--image', DIND_IMAGE, '--tcp', 'true', '--network', network, '--wait-timeout', '30']);
    onTestFinished(async () => {
      await cli(['stop']).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    });
    const vars = Object.fromEntries([...(await cli(['env', '--format', 'dotenv'])).stdout.matchAll(/^(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const lateCerts = join(work, 'late-certs');
    mkdirSync(lateCerts);
    const certsLater = setTimeout(() => {
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) copyFileSync(join(vars.DOCKER_CERT_PATH!, f), join(lateCerts, f));
    }, 2000);
    onTestFinished(() => clearTimeout(certsLater));

    const dir = await project(`include:
  - local: templates/dind-service.yml
    inputs:
      wait-timeout: 25
  - local: templates/setup-dind.yml
ready:
  image: ${IMAGE}
  extends: .setup-dind-service
  services: []
  script:
    - docker version --format 'server={{.Server.Version}}'
    - command -v node || echo no-node-in-job
unreachable:
  image: ${IMAGE}
  extends: .setup-dind-service
  services: []
  allow_failure: true
  variables:
    DOCKER_HOST: unix:///var/run/setup-dind-no-such-daemon.sock
    DOCKER_TLS_VERIFY: '0'
    SETUP_DIND_WAIT_TIMEOUT: '3'
  script:
    - echo should-not-run
own-daemon:
  image: ${IMAGE}
  extends: .setup-dind
  allow_failure: true
  script:
    - echo should-not-run
`);
    const { code, log } = await pipeline(dir, ['--network', network, '--volume', `${lateCerts}:/certs/client`]);
    expect(code, log).toBe(0);
    const ready = jobLines(log, 'ready');
    expect(ready).toMatch(/setup-dind: the external daemon at tcp:\/\/docker:2376 is ready \(Docker \S+, \S+\) after waiting \d+ s \(sh, no Node\.js\)\./);
    expect(ready).toMatch(/> server=\S+/);
    expect(ready).toMatch(/> no-node-in-job/);
    expect(log).toMatch(/PASS\s+ready/);
    const unreachable = jobLines(log, 'unreachable');
    expect(unreachable).toMatch(/ERROR: setup-dind: the external daemon at unix:\/\/\/var\/run\/setup-dind-no-such-daemon\.sock did not answer within 3\.0 s \([2-9] attempts\); last error: .*setup-dind-no-such-daemon\.sock.*\. Check that the address/);
    expect(unreachable).not.toMatch(/> should-not-run/);
    expect(log).toMatch(/WARN\s+unreachable/);
    const own = jobLines(log, 'own-daemon');
    expect(own).toMatch(/ERROR: setup-dind: the setup-dind component runs its CLI with Node\.js >= 20 .*neither node nor apk.*use an image with Node\.js >= 20.*dind-service component/);
    expect(own).not.toMatch(/> should-not-run/);
    expect(log).toMatch(/WARN\s+own-daemon/);
    await cli(['stop']);
    await expectNothingLeft(before);
  });
});
