// What every end-to-end test shares: the bed's engine, a leak check, users, and the built action.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { parseDockerHost } from '../../src/endpoint/endpoint.js';
import { EngineClient } from '../../src/engine/client.js';
import { type JobResult, type RunJobOptions, runJob } from '../harness/runner.js';

export const run = promisify(execFile);
export const repoRoot = join(import.meta.dirname, '..', '..');
export const BUSYBOX = 'local/busybox:1';
export const DIND_IMAGE = 'local/dind:test';

/** The engine the tests run on: the bed's private daemon (scripts/test.sh exports DOCKER_HOST). */
export function outerHost(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) throw new Error('DOCKER_HOST is not set: run the tests through scripts/test.sh, which starts the test bed');
  return host;
}

export const outerEngine = () => new EngineClient({ address: parseDockerHost(outerHost()) });

/** The node binary the runner uses for `using: node24` (scripts/test.sh installs it), else this one. */
/**
 * What a CLI run by the test gets of the runner's environment: HOME, and where the run put the user's cache directory
 * and the host's port reservations (scripts/prepare.sh: under the temp root, so that a run leaves nothing behind).
 */
export const runnerEnv = (): Record<string, string> => {
  const env: Record<string, string> = { HOME: process.env.HOME! };
  for (const name of ['XDG_CACHE_HOME', 'SETUP_DIND_PORT_RESERVATIONS']) if (process.env[name]) env[name] = process.env[name]!;
  return env;
};
export const actionNode = () => process.env.SETUP_DIND_NODE || process.execPath;

/**
 * One job of the built action in dind mode on the bed's engine (DOCKER_HOST, and OUTER for steps that reach the
 * bed itself), with the bed's dind image unless `with` names another. Options and env add to these.
 */
export function dindJob(options: Partial<RunJobOptions> & { with?: Record<string, string> }): Promise<JobResult> {
  return runJob({
    actionDir: repoRoot,
    nodePath: actionNode(),
    ...options,
    env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), ...options.env },
    with: { image: DIND_IMAGE, ...options.with },
  });
}

export interface Picture {
  engine: { containers: string[]; volumes: string[]; networks: string[] };
  dirs: Record<string, string[]>;
}

/** A picture of the engine's objects and of some directories, to compare before and after a job. */
export async function picture(dirs: string[] = []): Promise<Picture> {
  const engine = await outerEngine().snapshot();
  const listing: Record<string, string[]> = {};
  for (const dir of dirs) {
    try {
      listing[dir] = readdirSync(dir).sort();
    } catch {
      listing[dir] = [];
    }
  }
  return { engine, dirs: listing };
}

/** Fails with the list of what a job left behind. */
export async function expectNothingLeft(before: Picture): Promise<void> {
  const after = await picture(Object.keys(before.dirs));
  const left = {
    containers: after.engine.containers.filter((c) => !before.engine.containers.includes(c)),
    volumes: after.engine.volumes.filter((v) => !before.engine.volumes.includes(v)),
    networks: after.engine.networks.filter((n) => !before.engine.networks.includes(n)),
    files: Object.fromEntries(Object.entries(after.dirs).map(([d, files]) => [d, files.filter((f) => !before.dirs[d]!.includes(f))]).filter(([, f]) => f!.length)),
  };
  expect(left, 'objects left behind by the job').toEqual({ containers: [], volumes: [], networks: [], files: {} });
}

export async function docker(args: string[], options: { host?: string; input?: string } = {}): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: options.host ?? outerHost() }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** This checkout's port forwarder processes that run now (the flag assembled, so this never lists itself); other
 * checkouts on the machine run their own tests. */
export function forwarders(): string[] {
  const flag = '--setup-dind-' + 'forwarder';
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.split('\0').includes(flag) && cmd.includes(`${repoRoot}/dist/`) ? [`${pid}: ${cmd.replace(/\0/g, ' ')}`] : [];
    } catch {
      return [];
    }
  });
}

/** Nothing listens at 127.0.0.1:port (here, in the bed's network namespace). */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(false);
    });
    c.on('error', () => resolve(true));
  });
}
