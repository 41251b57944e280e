// The tar a data-root snapshot is made and unpacked with, whatever the dind image carries: the runner's own GNU tar
// and the shared libraries it links, copied into the per-job directory (which the daemon's container and the helpers
// mount anyway, for the FIFO) and run there through their own dynamic loader. So an image whose only tar is BusyBox's
// (the official docker:*-dind, Alpine) keeps overlay metadata too: whiteouts, opaque directories, every xattr.
// The image's own GNU tar is the fallback when the runner cannot provide one (no GNU tar, no ldd).
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The variable the snapshot scripts read: the command (words without spaces) that runs GNU tar in the container. */
export const TAR_ENV = 'SETUP_DIND_TAR';
/** The bundle's directory in the job directory. */
export const TAR_DIR = 'gnu-tar';

export type RunnerTar = { command: string } | { problem: string };

/** What the bundle needs from the runner; injectable for tests. */
export interface TarHost {
  /** PATH entries to look for tar and gtar in. */
  path: string[];
  run(file: string, args: string[]): Promise<{ stdout: string }>;
}

const defaultHost = (): TarHost => ({
  path: [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/bin'],
  run: (tarHostProgram, args) => run(tarHostProgram, [...args], { timeout: 10_000 }),
});

/** The first tar (or gtar) on PATH that is GNU tar with --xattrs; undefined when there is none. */
async function findGnuTar(host: TarHost): Promise<string | undefined> {
  for (const dir of host.path) {
    for (const name of ['tar', 'gtar']) {
      const file = join(dir, name);
      const version = await host.run(file, ['--version']).catch(() => undefined);
      if (!version?.stdout.includes('GNU tar')) continue;
      const help = await host.run(file, ['--help']).catch(() => undefined);
      if (help?.stdout.includes('--xattrs')) return realpath(file).catch(() => file);
    }
  }
  return undefined;
}

/** The shared libraries (soname → file) and the loader ldd names; undefined loader: a static binary. */
export function parseLdd(text: string): { libs: Map<string, string>; loader?: string } {
  const libs = new Map<string, string>();
  let loader: string | undefined;
  for (const line of text.split('\n')) {
    const linked = /^\s*(\S+)\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (linked) libs.set(linked[1]!, linked[2]!);
    else {
      const own = /^\s*(\/\S*ld[-.]\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (own) loader = own[1]!;
    }
  }
  return { libs, loader };
}

/**
 * Copies the runner's GNU tar, its libraries and its loader into `<jobDir>/gnu-tar/` (once per job: a later call finds
 * it made) and checks that the copy runs as the containers will run it. Resolves to the command as a container
 * sees it (the job directory mounted at `mountedAt`), or to why the runner has none.
 */
export async function runnerTar(jobDir: string, mountedAt: string, host: TarHost = defaultHost()): Promise<RunnerTar> {
  const dir = join(jobDir, TAR_DIR);
  const ready = join(dir, '.command');
  const made = await readFile(ready, 'utf8').catch(() => '');
  if (made) return { command: made.trim() };
  const tar = await findGnuTar(host);
  if (!tar) return { problem: 'the runner has no GNU tar with --xattrs on PATH' };
  let libs = new Map<string, string>();
  let loader: string | undefined;
  try {
    ({ libs, loader } = parseLdd((await host.run('ldd', [tar])).stdout));
  } catch (e) {
    // A static tar: ldd says "not a dynamic executable" (exit 1); no ldd at all is another matter.
    const text = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    if (!/not a dynamic executable|statically linked/.test(text)) return { problem: `ldd could not list the libraries of ${tar} (${(e as Error).message.trim()})` };
  }
  if (libs.size > 0 && !loader) return { problem: `ldd named no dynamic loader for ${tar}` };
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
    const copies: [string, string][] = [[tar, 'tar'], ...[...libs].map(([soname, file]): [string, string] => [file, soname])];
    if (loader) copies.push([loader, basename(loader)]);
    for (const [from, name] of copies) {
      await copyFile(await realpath(from), join(dir, name));
      await chmod(join(dir, name), 0o755);
    }
    const words = (at: string) => (loader ? [join(at, basename(loader)), '--library-path', at, join(at, 'tar')] : [join(at, 'tar')]);
    // The copy must run on its own, from its directory, before any container relies on it.
    const [file, ...args] = words(dir);
    const version = await host.run(file!, [...args, '--version']);
    if (!version.stdout.includes('GNU tar')) throw new Error(`the copy answered ${JSON.stringify(version.stdout.split('\n')[0])}`);
    const command = words(`${mountedAt}/${TAR_DIR}`).join(' ');
    await writeFile(ready, `${command}\n`, { mode: 0o644 });
    return { command };
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    return { problem: `the runner's GNU tar (${tar}) could not be copied into the job directory and run there (${(e as Error).message.trim()})` };
  }
}
