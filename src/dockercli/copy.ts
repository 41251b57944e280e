// The docker CLI and its CLI plugins out of the dind image, through the engine's archive endpoint (no download, no
// program run): read from the daemon's own container, written into a directory of the job's. Symlinks (a plugin
// that points at a binary elsewhere in the image) are followed inside the container.
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { EngineClient } from '../engine/client.js';
import { readTar } from './tar-reader.js';

/** Where dind images keep the docker CLI: the official image in /usr/local/bin, Debian and Alpine packages in /usr/bin. */
export const CLI_PATHS = ['/usr/local/bin/docker', '/usr/bin/docker', '/bin/docker'];
/** The docker CLI's system plugin directories on Linux, in its order of preference. */
export const PLUGIN_DIRS = ['/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins'];
/** A CLI plugin's file name (docker-<name>, the name lower-case letters and digits). */
const PLUGIN_FILE = /^docker-[a-z][a-z0-9]*$/;
const MAX_LINKS = 8;

export interface CopiedClient {
  /** Where the CLI was found in the image. */
  cli: string;
  /** The plugins copied: name (buildx, compose) -> where it was found in the image. */
  plugins: Record<string, string>;
}

/** The file or symlink `path` names in the container, written to `dest`; its container path, or undefined when absent. */
async function copyFile(engine: EngineClient, id: string, path: string, dest: string, hops = 0): Promise<string | undefined> {
  const archive = await engine.archiveIfExists(id, path);
  if (!archive) return undefined;
  // The archive of one path holds one top-level entry, named after it.
  const entries = await readTar(archive, (e) => (e.type === 'file' && !e.name.includes('/') ? dest : undefined));
  const top = entries.find((e) => !e.name.replace(/\/$/, '').includes('/'));
  if (top?.type === 'file') return path;
  if (top?.type === 'symlink' && hops < MAX_LINKS) return copyFile(engine, id, posix.resolve(posix.dirname(path), top.linkname), dest, hops + 1);
  throw new Error(`${path} in the image is ${top ? `a ${top.type}${top.type === 'symlink' ? ` (more than ${MAX_LINKS} links deep)` : ''}` : 'an empty archive'}, not a program`);
}

/** The plugins of one directory that are not taken yet, copied into `pluginDir`. */
async function copyPluginDir(engine: EngineClient, id: string, dir: string, pluginDir: string, taken: Record<string, string>): Promise<void> {
  const archive = await engine.archiveIfExists(id, dir);
  if (!archive) return;
  const fileOf = (name: string) => {
    const m = /^[^/]+\/([^/]+)$/.exec(name);
    return m && PLUGIN_FILE.test(m[1]!) && !(m[1]!.slice('docker-'.length) in taken) ? m[1]! : undefined;
  };
  const entries = await readTar(archive, (e) => {
    const file = e.type === 'file' ? fileOf(e.name) : undefined;
    return file ? join(pluginDir, file) : undefined;
  });
  for (const e of entries) {
    const file = fileOf(e.name);
    if (!file || (e.type !== 'file' && e.type !== 'symlink')) continue;
    const source = `${dir}/${file}`;
    const found = e.type === 'file' ? source : await copyFile(engine, id, posix.resolve(dir, e.linkname), join(pluginDir, file), 1);
    if (found) taken[file.slice('docker-'.length)] = source;
  }
}

/**
 * Copies the image's docker CLI to `dir`/docker and its plugins to `dir`/cli-plugins/docker-<name>, from the
 * container `id` (created or running). Throws when the image has no docker CLI.
 */
export async function copyClient(engine: EngineClient, id: string, dir: string, image: string): Promise<CopiedClient> {
  await mkdir(join(dir, 'cli-plugins'), { recursive: true, mode: 0o755 });
  let cli: string | undefined;
  for (const path of CLI_PATHS) {
    if (await copyFile(engine, id, path, join(dir, 'docker'))) {
      cli = path;
      break;
    }
  }
  if (!cli) {
    throw new Error(
      `the image ${image} has no docker CLI (looked for ${CLI_PATHS.join(', ')}); use an image that ships it (the official docker:<version>-dind does), or remove the input client`,
    );
  }
  const plugins: Record<string, string> = {};
  for (const d of PLUGIN_DIRS) await copyPluginDir(engine, id, d, join(dir, 'cli-plugins'), plugins);
  return { cli, plugins };
}
