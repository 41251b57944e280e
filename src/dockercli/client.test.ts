import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineClient } from '../engine/client.js';
import { fieldsOf } from '../fields.js';
import { memoryPlatform } from '../platform/memory.js';
import { StateRecorder } from '../state.js';
import { startClient, startClientWith, undoClient } from './apply.js';
import { copyClient } from './copy.js';
import { parseClientSetting } from './settings.js';
import { readTar } from './tar-reader.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'client-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** GNU tar's archive of `name` in `dir`, as a stream (pax format: long names go into extended headers). */
function tarOf(dir: string, name: string, format = 'pax'): Readable {
  const child = spawn('tar', [`--format=${format}`, '-C', dir, '-c', name], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

/** An engine whose containers' file system is `rootfs`: the archive endpoint as dockerd answers it (links not followed). */
function fakeEngine(rootfs: string, requests: string[] = []): EngineClient {
  return {
    archiveIfExists: async (_id: string, path: string) => {
      requests.push(path);
      const onDisk = join(rootfs, path);
      try {
        await lstat(onDisk);
      } catch {
        return undefined;
      }
      return tarOf(join(rootfs, posix.dirname(path)), posix.basename(path));
    },
  } as unknown as EngineClient;
}

async function put(path: string, content: string, mode = 0o755): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  await chmod(path, mode);
}

describe('readTar', () => {
  it('reads files, directories and symlinks, writes only what it is told to, with the modes kept (at most 0755)', async () => {
    const src = join(root, 'src');
    await put(join(src, 'd', 'a'), 'alpha', 0o4755);
    await put(join(src, 'd', 'b'.repeat(150)), 'long name in a PAX header');
    await put(join(src, 'd', 'empty'), '', 0o644);
    await put(join(src, 'd', 'big'), 'x'.repeat(1_000_003));
    await symlink('/usr/bin/elsewhere', join(src, 'd', 'link'));
    const out = join(root, 'out');
    await mkdir(out);
    const entries = await readTar(tarOf(src, 'd'), (e) => (e.type === 'file' ? join(out, posix.basename(e.name)) : undefined));
    const byName = Object.fromEntries(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
    expect(byName.d?.type).toBe('directory');
    expect(byName['d/link']).toMatchObject({ type: 'symlink', linkname: '/usr/bin/elsewhere' });
    expect(byName[`d/${'b'.repeat(150)}`]?.type).toBe('file');
    expect(await readFile(join(out, 'a'), 'utf8')).toBe('alpha');
    expect((await stat(join(out, 'a'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(out, 'empty'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(out, 'b'.repeat(150)), 'utf8')).toBe('long name in a PAX header');
    expect((await readFile(join(out, 'big'), 'utf8')).length).toBe(1_000_003);
    expect(existsSync(join(out, 'link'))).toBe(false);
  });

  it('reads GNU long names too, and the stream in pieces of any size', async () => {
    const src = join(root, 'src');
    await put(join(src, 'n'.repeat(120)), 'gnu');
    const whole: Buffer[] = [];
    for await (const c of tarOf(src, 'n'.repeat(120), 'gnu')) whole.push(c as Buffer);
    const bytes = Buffer.concat(whole);
    const trickle = new PassThrough();
    for (let i = 0; i < bytes.length; i += 7) trickle.write(bytes.subarray(i, i + 7));
    trickle.end();
    const out = join(root, 'gnu');
    const entries = await readTar(trickle, () => out);
    expect(entries.map((e) => e.name)).toEqual(['n'.repeat(120)]);
    expect(await readFile(out, 'utf8')).toBe('gnu');
  });

  it('refuses a truncated archive, and never overwrites a file', async () => {
    const src = join(root, 'src');
    await put(join(src, 'f'), 'y'.repeat(5000));
    const whole: Buffer[] = [];
    for await (const c of tarOf(src, 'f')) whole.push(c as Buffer);
    const bytes = Buffer.concat(whole);
    const cut = new PassThrough();
    cut.end(bytes.subarray(0, 3000));
    await expect(readTar(cut, () => undefined)).rejects.toThrow(/ended in the middle of an entry/);
    const existing = join(root, 'existing');
    await writeFile(existing, 'mine');
    const again = new PassThrough();
    again.end(bytes);
    await expect(readTar(again, () => existing)).rejects.toThrow(/EEXIST/);
    expect(await readFile(existing, 'utf8')).toBe('mine');
  });
});

describe('copyClient', () => {
  it('takes the CLI where the image has it, and each plugin from the first system directory that has it', async () => {
    const rootfs = join(root, 'rootfs');
    await put(join(rootfs, 'usr/bin/docker.real'), 'the CLI');
    await symlink('docker.real', join(rootfs, 'usr/bin/docker')); // a relative link, followed in the image
    await put(join(rootfs, 'usr/local/libexec/docker/cli-plugins/docker-buildx'), 'buildx (preferred)');
    await put(join(rootfs, 'usr/libexec/docker/cli-plugins/docker-buildx'), 'buildx (shadowed)');
    await put(join(rootfs, 'usr/bin/docker-compose'), 'compose');
    await symlink('/usr/bin/docker-compose', join(rootfs, 'usr/libexec/docker/cli-plugins/docker-compose'));
    await put(join(rootfs, 'usr/libexec/docker/cli-plugins/README'), 'not a plugin');
    await put(join(rootfs, 'usr/libexec/docker/cli-plugins/docker-Bad'), 'not a plugin name');
    const dir = join(root, 'client');
    const copied = await copyClient(fakeEngine(rootfs), 'c1', dir, 'local/dind:x');
    expect(copied).toEqual({
      cli: '/usr/bin/docker',
      plugins: { buildx: '/usr/local/libexec/docker/cli-plugins/docker-buildx', compose: '/usr/libexec/docker/cli-plugins/docker-compose' },
    });
    expect(await readFile(join(dir, 'docker'), 'utf8')).toBe('the CLI');
    expect((await stat(join(dir, 'docker'))).mode & 0o111).toBe(0o111);
    expect(await readFile(join(dir, 'cli-plugins/docker-buildx'), 'utf8')).toBe('buildx (preferred)');
    expect(await readFile(join(dir, 'cli-plugins/docker-compose'), 'utf8')).toBe('compose');
    expect((await readdir(join(dir, 'cli-plugins'))).sort()).toEqual(['docker-buildx', 'docker-compose']);
  });

  it('prefers /usr/local/bin (the official image) and names the image and the remedy when there is no CLI', async () => {
    const rootfs = join(root, 'rootfs');
    await put(join(rootfs, 'usr/local/bin/docker'), 'official');
    await put(join(rootfs, 'usr/bin/docker'), 'distribution');
    const requests: string[] = [];
    expect((await copyClient(fakeEngine(rootfs, requests), 'c1', join(root, 'a'), 'i')).cli).toBe('/usr/local/bin/docker');
    expect(requests[0]).toBe('/usr/local/bin/docker');
    const empty = join(root, 'empty');
    await mkdir(empty);
    await expect(copyClient(fakeEngine(empty), 'c1', join(root, 'b'), 'team/dind:1')).rejects.toThrow(
      /^the image team\/dind:1 has no docker CLI \(looked for \/usr\/local\/bin\/docker, \/usr\/bin\/docker, \/bin\/docker\); use an image that ships it .*, or remove the input client$/,
    );
  });

  it('follows a link chain only so far', async () => {
    const rootfs = join(root, 'rootfs');
    await mkdir(join(rootfs, 'usr/local/bin'), { recursive: true });
    await symlink('docker', join(rootfs, 'usr/local/bin/docker'));
    await expect(copyClient(fakeEngine(rootfs), 'c1', join(root, 'a'), 'i')).rejects.toThrow(/is a symlink \(more than 8 links deep\)/);
  });
});

describe('the client input', () => {
  const parse = (client: string, mode: string) => {
    const f = fieldsOf<'client'>(() => client, { client: 'false' });
    return { value: parseClientSetting(f, mode), problems: f.problems };
  };
  it('is off by default and refused outside dind, with the remedy', () => {
    expect(parse('', 'dind')).toEqual({ value: false, problems: [] });
    expect(parse('true', 'dind')).toEqual({ value: true, problems: [] });
    expect(parse('false', 'socket')).toEqual({ value: false, problems: [] });
    expect(parse('true', 'socket').problems).toEqual([
      'input "client": "true" copies the docker CLI out of the dind image, and mode socket runs no dind image; remove it (the job uses the runner\'s docker CLI) or use mode dind',
    ]);
    expect(parse('sometimes', 'dind').problems[0]).toMatch(/^input "client": "sometimes" is not a boolean/);
  });
});

describe('startClient and undoClient', () => {
  async function setUp(configBefore: string | null) {
    const rootfs = join(root, 'rootfs');
    await put(join(rootfs, 'usr/bin/docker'), 'cli');
    await put(join(rootfs, 'usr/libexec/docker/cli-plugins/docker-hello'), 'plugin');
    const configDir = join(root, 'home', '.docker');
    if (configBefore !== null) await put(join(configDir, 'config.json'), configBefore, 0o600);
    const platform = memoryPlatform({ env: { HOME: join(root, 'home') } });
    const state = new StateRecorder(platform.state);
    const jobDir = join(root, 'job');
    await mkdir(jobDir);
    state.begin({ session: 's', mode: 'dind', jobDir, containerId: 'c1', outer: { address: 'unix:///nowhere.sock' } as never });
    return { rootfs, configDir, platform, state, jobDir };
  }

  it('puts the directory on PATH and the plugins first in cliPluginsExtraDirs; post leaves config.json as it was', async () => {
    const before = JSON.stringify({ auths: { 'r.example': { auth: 'eA==' } }, cliPluginsExtraDirs: ['/opt/plugins'] }, null, 2);
    const { rootfs, configDir, platform, state, jobDir } = await setUp(before);
    const facts = await startClientWith(platform, state, 'local/dind:x', fakeEngine(rootfs)).finish();
    const dir = join(jobDir, 'client');
    expect(platform.paths).toEqual([dir]);
    expect(state.value?.client).toEqual({ dir, config: { configDir, pluginDir: join(dir, 'cli-plugins'), fileExisted: true, dirExisted: true } });
    const config = JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8'));
    expect(config.cliPluginsExtraDirs).toEqual([join(dir, 'cli-plugins'), '/opt/plugins']);
    expect(config.auths).toEqual({ 'r.example': { auth: 'eA==' } });
    expect(facts['docker CLI']).toMatch(/^\/usr\/bin\/docker of the image, plugins hello, in /);
    // The job changed config.json meanwhile (a docker login): that stays, only our directory goes.
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ ...config, credsStore: 'pass' }));
    await undoClient(state.value!, platform);
    expect(JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8'))).toEqual({ ...JSON.parse(before), credsStore: 'pass' });
    expect(existsSync(dir)).toBe(false);
  });

  it('without a config before, post removes the file and the directory it made', async () => {
    const { rootfs, configDir, platform, state } = await setUp(null);
    await startClientWith(platform, state, 'i', fakeEngine(rootfs)).finish();
    expect(JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8'))).toEqual({ cliPluginsExtraDirs: [join(state.value!.client!.dir, 'cli-plugins')] });
    await undoClient(state.value!, platform);
    expect(existsSync(configDir)).toBe(false);
    expect(platform.messages.filter((m) => m.level === 'warning')).toEqual([]);
  });

  it('an image without plugins leaves config.json alone', async () => {
    const { rootfs, configDir, platform, state } = await setUp(null);
    await rm(join(rootfs, 'usr/libexec'), { recursive: true });
    await startClientWith(platform, state, 'i', fakeEngine(rootfs)).finish();
    expect(existsSync(configDir)).toBe(false);
    expect(state.value?.client?.config).toBeUndefined();
    expect(platform.messages.some((m) => /no CLI plugins in the image/.test(m.text))).toBe(true);
  });

  it('needs the dind container', () => {
    const platform = memoryPlatform();
    const state = new StateRecorder(platform.state);
    state.begin({ session: 's', mode: 'socket' });
    expect(() => startClient(platform, state, 'i')).toThrow(/the dind container was not started/);
  });

  it('a copy that fails is reported by finish (and the directory is in state for post)', async () => {
    const { platform, state, jobDir } = await setUp(null);
    const copy = startClientWith(platform, state, 'team/dind:1', fakeEngine(join(root, 'nothing-here')));
    expect(state.value?.client).toEqual({ dir: join(jobDir, 'client') });
    await expect(copy.finish()).rejects.toThrow(/the image team\/dind:1 has no docker CLI/);
    expect(platform.paths).toEqual([]);
  });
});
