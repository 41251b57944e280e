// socket mode: the runner's own daemon reads /etc/docker/certs.d at every pull and /etc/docker/daemon.json when it
// reloads. The action changes them only as asked, records exactly what was there before, and post puts it back.
// Writes go directly when we are root, else through non-interactive sudo; never through a shell.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileNoWindow } from '../platform/private-file.js';

const run = promisify(execFile);

export interface HostPaths {
  certsDir: string;
  daemonJson: string;
  /** dockerd's pid file: the daemon to send SIGHUP to after daemon.json changed. */
  pidFile: string;
}

/** Defaults of a standard Linux install; SETUP_DIND_HOST_* variables override them for unusual runners. */
export function hostPaths(env: Readonly<Record<string, string | undefined>>): HostPaths {
  return {
    certsDir: env.SETUP_DIND_HOST_CERTS_DIR || '/etc/docker/certs.d',
    daemonJson: env.SETUP_DIND_HOST_DAEMON_JSON || '/etc/docker/daemon.json',
    pidFile: env.SETUP_DIND_HOST_DOCKERD_PIDFILE || '/var/run/docker.pid',
  };
}

/** What post needs to undo the changes: saved in state as soon as each change is made. */
export interface HostChanges {
  /**
   * certs.d host directories: their files before we wrote (null: the directory did not exist). The content (client
   * keys among it) stays in a private backup file in the job directory; state holds only its path.
   */
  certDirs: { dir: string; before: BackedUpFile[] | null }[];
  /**
   * daemon.json before we changed it, as a 0600 copy in the job directory (null: it did not exist; the runner's file
   * may hold credentials, so only the copy's path is in state), and the keys the action set.
   */
  daemonJson?: { path: string; backup: string | null; pidFile: string; keys: string[] };
}

export interface BackedUpFile {
  name: string;
  /** A 0600 copy in the job directory's backup folder. */
  backup: string;
  mode: number;
}

/** File operations as root, or through `sudo -n` for a non-root runner user. */
export class PrivilegedFiles {
  constructor(private readonly isRoot = process.getuid?.() === 0) {}

  private async sudo(args: string[], what: string): Promise<void> {
    try {
      await run('sudo', ['-n', ...args]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${what} needs root: the action runs as a non-root user and \`sudo -n ${args[0]}\` failed (${(err.stderr || err.message).trim()}). Run the job as root, allow passwordless sudo, or use mode dind`);
    }
  }

  async write(path: string, content: string | Buffer, mode: number): Promise<void> {
    if (this.isRoot) {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFileNoWindow(path, content, mode);
      return;
    }
    // sudo tee would need a pipe; install copies a file we wrote privately first.
    const staging = join(process.env.RUNNER_TEMP || '/tmp', `setup-dind-staging-${process.pid}-${Date.now()}`);
    await writeFile(staging, content, { mode: 0o600, flag: 'wx' });
    try {
      await this.sudo(['install', '-D', '-m', mode.toString(8), staging, path], `writing ${path}`);
    } finally {
      await rm(staging, { force: true });
    }
  }

  async mkdir(path: string): Promise<void> {
    if (this.isRoot) await mkdir(path, { recursive: true, mode: 0o755 });
    else await this.sudo(['install', '-d', '-m', '755', path], `creating ${path}`);
  }

  async remove(path: string): Promise<void> {
    if (this.isRoot) await rm(path, { recursive: true, force: true });
    else await this.sudo(['rm', '-rf', '--', path], `removing ${path}`);
  }

  async signal(pid: number, signal: 'HUP'): Promise<void> {
    if (this.isRoot) process.kill(pid, `SIG${signal}`);
    else await this.sudo(['kill', `-${signal}`, String(pid)], `reloading dockerd (pid ${pid})`);
  }
}

/** Copies a host directory's files into `backupDir` (0700; each file 0600 from its creation on). */
async function snapshotDir(dir: string, backupDir: string): Promise<BackedUpFile[] | null> {
  try {
    if (!(await lstat(dir)).isDirectory()) throw new Error(`${dir} exists but is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const files: BackedUpFile[] = [];
  const names = (await readdir(dir)).sort();
  if (names.length) await mkdir(backupDir, { recursive: true, mode: 0o700 });
  for (const [i, name] of names.entries()) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (!info.isFile()) throw new Error(`${path} is not a plain file; the action will not replace it`);
    const backup = join(backupDir, String(i));
    await writeFile(backup, await readFile(path), { mode: 0o600, flag: 'wx' });
    files.push({ name, backup, mode: info.mode & 0o777 });
  }
  return files;
}

/**
 * Writes `files` (paths relative to certs.d, like "registry.example.com:5000/ca.crt"), recording each host
 * directory's previous content first (into private files under `backupDir`). `record` is called after every change
 * so state always covers it.
 */
export async function installHostCerts(
  files: { path: string; content: string; mode: number }[],
  paths: HostPaths,
  io: PrivilegedFiles,
  record: (changes: HostChanges['certDirs']) => void,
  backupDir: string,
): Promise<void> {
  const certDirs: HostChanges['certDirs'] = [];
  const hosts = [...new Set(files.map((f) => f.path.split('/')[0]!))];
  for (const [i, host] of hosts.entries()) {
    const dir = join(paths.certsDir, host);
    certDirs.push({ dir, before: await snapshotDir(dir, join(backupDir, String(i))) });
    record(certDirs);
    for (const file of files.filter((f) => f.path.startsWith(`${host}/`))) {
      await io.write(join(paths.certsDir, file.path), file.content, file.mode);
    }
  }
}

/** Puts every recorded certs.d directory back exactly as it was. */
export async function restoreHostCerts(changes: HostChanges['certDirs'], io: PrivilegedFiles): Promise<void> {
  for (const { dir, before } of changes) {
    await io.remove(dir);
    if (before === null) continue;
    await io.mkdir(dir);
    for (const file of before) await io.write(join(dir, file.name), await readFile(file.backup), file.mode);
  }
}

function readDaemonPid(pidFile: string): number {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (e) {
    throw new Error(`cannot read dockerd's pid file ${pidFile} (${(e as Error).message}); set SETUP_DIND_HOST_DOCKERD_PIDFILE to the runner daemon's pid file`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`dockerd's pid file ${pidFile} holds ${JSON.stringify(text.trim())}, not a pid`);
  return pid;
}

/**
 * Merges `settings` into the host's daemon.json and reloads dockerd (SIGHUP: registry-mirrors and
 * insecure-registries are reloadable). A key already set to another value in the host file is an error: the runner's
 * administrator chose it, and the action does not overrule it silently.
 */
export async function configureHostDaemon(
  settings: Record<string, unknown>,
  paths: HostPaths,
  io: PrivilegedFiles,
  record: (change: NonNullable<HostChanges['daemonJson']>) => void,
  backupDir: string,
): Promise<void> {
  let before: string | null = null;
  try {
    before = await readFile(paths.daemonJson, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${paths.daemonJson}: ${(e as Error).message}`);
  }
  let current: Record<string, unknown> = {};
  if (before !== null && before.trim()) {
    try {
      current = JSON.parse(before) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${paths.daemonJson} is not valid JSON (${(e as Error).message}); fix it before using configure-host`);
    }
  }
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(settings)) {
    const existing = current[key];
    if (Array.isArray(existing) && Array.isArray(value)) merged[key] = [...new Set([...existing, ...value])];
    else if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(value)) {
      throw new Error(`${paths.daemonJson} already sets "${key}" to ${JSON.stringify(existing)}; the action will not change it to ${JSON.stringify(value)}`);
    } else merged[key] = value;
  }
  const pid = readDaemonPid(paths.pidFile);
  let backup: string | null = null;
  if (before !== null) {
    await mkdir(backupDir, { recursive: true, mode: 0o700 });
    backup = join(backupDir, 'daemon.json');
    await writeFileNoWindow(backup, before, 0o600);
  }
  record({ path: paths.daemonJson, backup, pidFile: paths.pidFile, keys: Object.keys(settings) });
  await io.write(paths.daemonJson, `${JSON.stringify(merged, null, 2)}\n`, 0o644);
  await io.signal(pid, 'HUP');
}

/**
 * dockerd's reload applies only the keys present in daemon.json: writing back a file without "registry-mirrors"
 * would leave our mirrors live. So the daemon first reloads a file that states the original value of every key we
 * set (an empty list where there was none), `reloaded` waits until it reports them, and then the original bytes
 * go back (they mean the same to the daemon, so no further reload is needed).
 */
export async function restoreHostDaemon(
  change: NonNullable<HostChanges['daemonJson']>,
  io: PrivilegedFiles,
  reloaded: (expected: Record<string, unknown>) => Promise<void> = async () => undefined,
): Promise<void> {
  // Read before anything changes: without its copy the file cannot be put back, and it is left as it is.
  const before = change.backup === null ? null : await readFile(change.backup, 'utf8');
  let original: Record<string, unknown> = {};
  try {
    original = before?.trim() ? (JSON.parse(before) as Record<string, unknown>) : {};
  } catch {
    // The file was valid when we changed it; if not, the plain restore below is all we can do.
  }
  const explicit: Record<string, unknown> = { ...original };
  for (const key of change.keys) if (!(key in original) && RESETTABLE.has(key)) explicit[key] = [];
  const pid = readDaemonPid(change.pidFile);
  await io.write(change.path, `${JSON.stringify(explicit, null, 2)}\n`, 0o644);
  await io.signal(pid, 'HUP');
  await reloaded(explicit);
  if (before === null) await io.remove(change.path);
  else await io.write(change.path, before, 0o644);
}

/** daemon.json keys whose "unset" is an empty list, so they can be reset by a reload. */
const RESETTABLE = new Set(['registry-mirrors', 'insecure-registries']);
