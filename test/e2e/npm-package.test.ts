// The npm package as a user gets it: `npm pack`, the tarball installed into an empty directory with no network
// (an empty npm cache and --offline: anything it would have to fetch fails the install), then its `setup-dind`
// starts a daemon on the real engine, a container runs there, and stop leaves nothing behind.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerHost, picture, repoRoot, runnerEnv } from './support.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'sd-npm-package-'));
// The user's cache directory, apart: the CLI remembers there, on purpose and for later jobs, that this engine
// refuses --privileged (src/daemon/privilege-memory.ts); the leak check of the job's own directory stays whole.
const cacheHome = mkdtempSync(join(tmpdir(), 'sd-npm-cache-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(cacheHome, { recursive: true, force: true });
});
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };

describe('the packed npm package', () => {
  it('installs offline into an empty directory, and its setup-dind starts and stops a daemon', async () => {
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    const { stdout: packed } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: repoRoot });
    const [info] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info!.files.map((f) => f.path).sort();
    // Only the bundled CLI and the documents: no sources, tests, action bundles or lockfile.
    expect(files.filter((f) => !f.startsWith('dist/cli/'))).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'SECURITY.md', 'package.json']);
    expect(files).toContain('dist/cli/index.js');

    const app = join(work, 'app');
    mkdirSync(app);
    const npmEnv = { ...process.env, npm_config_cache: join(work, 'empty-npm-cache'), npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
    await run('npm', ['init', '-y'], { cwd: app, env: npmEnv });
    await run('npm', ['install', '--offline', '--ignore-scripts', join(packDir, info!.filename)], { cwd: app, env: npmEnv });
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(installed.dependencies ?? {}, 'a self-contained package: no runtime dependencies').toEqual({});

    // The bin as npm linked it, run by the runner's Node (the first `node` on PATH).
    const bin = join(app, 'node_modules', '.bin', 'setup-dind');
    const env = { PATH: `${join(actionNode(), '..')}:${process.env.PATH}`, ...runnerEnv(), HOME: work, XDG_CACHE_HOME: cacheHome, DOCKER_HOST: outerHost(), SETUP_DIND_IMAGE: DIND_IMAGE, SETUP_DIND_STATE_DIR: join(work, 'state') };
    const cli = (args: string[]) => run(bin, args, { env });
    expect((await cli(['--version'])).stdout.trim()).toBe(pkg.version);

    const before = await picture([work]);
    const start = await cli(['start', '--wait-timeout', '30']);
    expect(start.stdout).toMatch(/is ready/);
    try {
      const script = `eval "$("${bin}" env)" && docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null && docker run --rm ${BUSYBOX} echo from-the-packed-cli`;
      const { stdout } = await run('bash', ['-c', script], { env: { ...process.env, ...env, OUTER: outerHost() } });
      expect(stdout).toContain('from-the-packed-cli');
    } finally {
      await cli(['stop']);
    }
    await expectNothingLeft(before);
    // All it keeps for later jobs is the engine memory.
    for (const d of readdirSync(cacheHome)) expect(d).toBe('setup-dind');
  });
});
