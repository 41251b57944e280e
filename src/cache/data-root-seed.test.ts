// The data-root restore through the daemon's init script, with the real script under sh and GNU tar: the runner's
// side (seedDaemon) and the container's side (seedScript) talk through the job directory as they do in a job. The
// engine is a fake that reports whether the script's process still runs (the daemon's container).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, statSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type SeedTarget, SEED_ENV, seedDaemon, seedScript } from './data-root.js';
import { type RunnerTar, TAR_ENV, runnerTar } from './gnu-tar.js';
import type { TarSource } from './tar.js';
import { consumeSource, zstdTar } from './tar-source.js';

const root = mkdtempSync(join(tmpdir(), 'sd-seed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// An entry: a data root of a few hundred files, larger than a pipe's buffer.
const source = join(root, 'source');
mkdirSync(join(source, 'image', 'overlay2'), { recursive: true });
for (let i = 0; i < 300; i++) writeFileSync(join(source, 'image', 'overlay2', `f${i}`), `file ${i}\n`.repeat(100));
writeFileSync(join(source, '.hidden'), 'dot file\n');
const entry = join(root, 'entry.tar.zst');
execFileSync('sh', ['-c', 'tar -C "$1" -cf - . | zstd -q -o "$2"', 'pack', source, entry]);

/** seedDaemon with the runner's GNU tar copied into the job directory, which the "container" sees where it is. */
const seedAt = (run: string, wait: number, restore: Parameters<typeof seedDaemon>[2], pollMs: number, tar: () => Promise<RunnerTar> = () => runnerTar(run, run)) =>
  seedDaemon(run, wait, restore, pollMs, tar);

let n = 0;
const children: ChildProcess[] = [];
afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

/** A job directory, an empty data root, and the init script's process as the daemon's container runs it. */
function place() {
  const dir = join(root, `job${n++}`);
  const run = join(dir, 'run');
  const data = join(dir, 'data');
  mkdirSync(run, { recursive: true });
  mkdirSync(data);
  return { run, data, dir };
}

interface Booted {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  target: SeedTarget;
}

/** The init script, then "dockerd" (a sleep that runs until the test ends); `runDir` is the directory it sees. */
function boot(runDir: string, data: string, env: string[], path = process.env.PATH): Booted {
  const script = `set -e\n${seedScript(runDir, data)}echo booted\nexec sleep 60`;
  const child = spawn('sh', ['-c', script], { env: { PATH: path, ...Object.fromEntries(env.map((e) => e.split(/=(.*)/s).slice(0, 2))) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const target: SeedTarget = {
    id: 'c1',
    engine: {
      inspectContainer: async () => ({ running: child.exitCode === null && child.signalCode === null, exitCode: child.exitCode ?? 0 }) as never,
      containerLogs: async () => out,
    },
  };
  return { child, stderr: () => out, exited, target };
}

/** A restore like the cache's: the entry through consumeSource; false (and the error) when it failed. */
function restoreFrom(file: string | undefined, errors: string[], delayMs = 0) {
  return async (consume: (tar: TarSource) => Promise<void>) => {
    await new Promise((r) => setTimeout(r, delayMs));
    if (!file) return true; // no entry
    try {
      await consumeSource(zstdTar(file), consume);
      return true;
    } catch (e) {
      errors.push((e as Error).message);
      return false;
    }
  };
}

const files = (dir: string) => readdirSync(dir, { recursive: true }).length;
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('data-root restore by the daemon\'s init script', () => {
  it('unpacks the entry before the daemon starts, dot files too, and keeps it on the runner\'s word', async () => {
    const { run, data } = place();
    const errors: string[] = [];
    const seed = await seedAt(run, 30, restoreFrom(entry, errors), 5);
    expect(seed.env).toEqual([expect.stringMatching(new RegExp(`^${SEED_ENV}=restore-[0-9a-f]{8}$`)), `${SEED_ENV}_WAIT=30`, expect.stringMatching(new RegExp(`^${TAR_ENV}=${run}/gnu-tar/`))]);
    const booted = boot(run, data, seed.env);
    expect(await seed.started(booted.target)).toBe(true);
    expect(errors).toEqual([]);
    await until(() => booted.stderr().includes('booted'));
    expect(booted.stderr()).toBe('booted\n');
    expect(files(data)).toBe(files(source));
    expect(readFileSync(join(data, '.hidden'), 'utf8')).toBe('dot file\n');
    expect(booted.child.exitCode).toBeNull();
    // The container started again (docker restart), with the same environment: its data root stays as it is.
    booted.child.kill('SIGKILL');
    writeFileSync(join(data, 'written-by-the-daemon'), 'x');
    const again = boot(run, data, seed.env);
    await until(() => again.stderr().includes('booted'));
    expect(again.stderr()).toBe('booted\n');
    expect(files(data)).toBe(files(source) + 1);
  });

  it('with no entry, the daemon starts at once on an empty data root', async () => {
    const { run, data } = place();
    const seed = await seedAt(run, 30, restoreFrom(undefined, []), 5);
    const booted = boot(run, data, seed.env);
    expect(await seed.started(booted.target)).toBe(true);
    await until(() => booted.stderr().includes('booted'));
    expect(booted.stderr()).toBe('booted\n');
    expect(files(data)).toBe(0);
  });

  for (const [fault, damage] of [
    ['a corrupt entry', (file: string) => writeFileSync(file, 'this is not zstd')],
    ['a truncated entry', (file: string) => truncateSync(file, Math.floor(statSync(file).size / 2))],
    // zstd writes the whole tar, and tar succeeds, before zstd fails: only the runner's verdict says "discard".
    ['a corrupt tail after a whole frame', (file: string) => appendFileSync(file, 'this is not zstd')],
  ] as const) {
    it(`${fault}: the restore fails, what was written is removed, and the daemon starts cold`, async () => {
      const { run, data, dir } = place();
      const damaged = join(dir, 'damaged.tar.zst');
      execFileSync('cp', [entry, damaged]);
      damage(damaged);
      const errors: string[] = [];
      const seed = await seedAt(run, 30, restoreFrom(damaged, errors), 5);
      const booted = boot(run, data, seed.env);
      expect(await seed.started(booted.target)).toBe(true);
      expect(errors.join()).toMatch(/zstd/);
      await until(() => booted.stderr().includes('booted'));
      expect(booted.stderr()).toMatch(/setup-dind: the data-root restore was not completed \(status \d+\); what it wrote is removed and the daemon starts cold\n(.|\n)*booted\n$/);
      expect(files(data)).toBe(0);
    });
  }

  /** A directory whose only tar is BusyBox-like (no GNU tar), for PATH. */
  const busyboxTar = (dir: string) => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tar'), '#!/bin/sh\necho "tar (busybox) 1.36"\n');
    chmodSync(join(bin, 'tar'), 0o755);
    return `${bin}:${process.env.PATH}`;
  };

  it("an image without GNU tar unpacks with the runner's GNU tar (its copy in the job directory)", async () => {
    const { run, data, dir } = place();
    const errors: string[] = [];
    const seed = await seedAt(run, 30, restoreFrom(entry, errors), 5);
    const booted = boot(run, data, seed.env, busyboxTar(dir));
    expect(await seed.started(booted.target)).toBe(true);
    expect(errors).toEqual([]);
    await until(() => booted.stderr().includes('booted'));
    expect(booted.stderr()).toBe('booted\n');
    expect(files(data)).toBe(files(source));
  });

  it('no GNU tar in the image nor on the runner: one clear failure naming the remedy, the writer released, the daemon starts cold', async () => {
    const { run, data, dir } = place();
    const errors: string[] = [];
    const seed = await seedAt(run, 30, restoreFrom(entry, errors), 5, async () => ({ problem: 'the runner has no GNU tar with --xattrs on PATH' }));
    expect(seed.env.some((e) => e.startsWith(`${TAR_ENV}=`))).toBe(false);
    const booted = boot(run, data, seed.env, busyboxTar(dir));
    expect(await seed.started(booted.target)).toBe(true);
    expect(errors).toEqual([expect.stringMatching(/this image has no GNU tar .*, and the runner has no GNU tar with --xattrs on PATH; install GNU tar on the runner \(apt-get install tar\) or use a dind image that has it/)]);
    await until(() => booted.stderr().includes('booted'));
    expect(files(data)).toBe(0);
  });

  it('a container that cannot see the FIFO ends (91): the caller is told to replace it', async () => {
    const { run, data, dir } = place();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const errors: string[] = [];
    const seed = await seedAt(run, 30, restoreFrom(entry, errors), 5);
    const booted = boot(elsewhere, data, seed.env);
    expect(await seed.started(booted.target)).toBe(false);
    expect(await booted.exited).toBe(91);
    expect(errors.join()).toMatch(/the daemon's container ended before it unpacked the entry \(exit 91\): .*is not the FIFO the runner made/);
  });

  it('a lookup slower than the init script\'s wait: the daemon starts cold, and the restore fails instead of hanging', async () => {
    const { run, data } = place();
    const errors: string[] = [];
    // The script counts its wait in sleeps of 20 ms, which take longer on a busy machine: a lookup well beyond it.
    const seed = await seedAt(run, 1, restoreFrom(entry, errors, 3500), 5);
    const booted = boot(run, data, seed.env);
    await until(() => booted.stderr().includes('booted'));
    expect(booted.stderr()).toMatch(/no word from the runner on the data-root restore within 1 s; the daemon starts cold/);
    expect(await seed.started(booted.target)).toBe(true);
    expect(errors.join()).toMatch(/had no word from the runner in time/);
    expect(files(data)).toBe(0);
  });

  it('no container started: abandon releases the writer, and the restore ends as failed', async () => {
    const { run } = place();
    const errors: string[] = [];
    const seed = await seedAt(run, 30, restoreFrom(entry, errors), 5);
    await seed.abandon();
    await until(() => errors.length > 0);
    expect(errors.join()).toMatch(/no daemon container was started/);
  });

  it('a tar that comes after the restore gave up (its deadline) is refused: the daemon has started cold, nothing waits', async () => {
    const { run, data } = place();
    const late: string[] = [];
    const seed = await seedAt(run, 30, async (consume) => {
      // restoreEntry's deadline: the restore ends as failed, while the backend goes on and hands its tar over later.
      setTimeout(() => void consumeSource(zstdTar(entry), consume).catch((e: Error) => late.push(e.message)), 300);
      return false;
    }, 5);
    const booted = boot(run, data, seed.env);
    expect(await seed.started(booted.target)).toBe(true);
    await until(() => booted.stderr().includes('booted'));
    await until(() => late.length > 0);
    expect(late.join()).toMatch(/the daemon had started cold before the entry was found/);
    expect(files(data)).toBe(0);
  });
});
