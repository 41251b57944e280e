// client through the phases: main copies the dind image's docker CLI and plugins into a directory of the job's and
// puts it on PATH; the docker CLI looks for plugins in its config directory and the system directories, never next
// to itself, so the plugin directory goes into config.json's cliPluginsExtraDirs (which it searches first). Both
// are recorded in state before they exist; post takes our directory out of config.json again (the rest of the file
// as the job left it) and removes the directory.
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dockerConfigDir, parseDockerConfig } from '../endpoint/docker-config.js';
import { type SavedEndpoint, loadEndpoint } from '../endpoint/endpoint.js';
import { EngineClient } from '../engine/client.js';
import type { Platform, Recorder } from '../platform/platform.js';
import { copyClient } from './copy.js';

/** client: the directory with the dind image's docker CLI (on PATH), and the plugin directory added to config.json. */
export interface ClientRecord {
  dir: string;
  config?: { configDir: string; pluginDir: string; fileExisted: boolean; dirExisted: boolean };
}


/** What the client records and reads in the job's state (state.ts composes it into the whole record). */
export interface ClientState {
  /** client: the image's docker CLI for the job's steps, removed in post. */
  client?: ClientRecord;
  outer?: SavedEndpoint;
  jobDir?: string;
  containerId?: string;
}

const CONFIG_KEY = 'cliPluginsExtraDirs';

async function readConfigText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const extraDirs = (config: Record<string, unknown>): string[] => (Array.isArray(config[CONFIG_KEY]) ? (config[CONFIG_KEY] as unknown[]).filter((d): d is string => typeof d === 'string') : []);

/** Puts `pluginDir` first in config.json's cliPluginsExtraDirs (the config directory is created when missing). */
async function addPluginDir(configDir: string, pluginDir: string, record: (r: NonNullable<ClientRecord['config']>) => void): Promise<void> {
  const path = join(configDir, 'config.json');
  const text = await readConfigText(path);
  const config = parseDockerConfig(text ?? '', path);
  record({ configDir, pluginDir, fileExisted: text !== null, dirExisted: existsSync(configDir) });
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify({ ...config, [CONFIG_KEY]: [pluginDir, ...extraDirs(config).filter((d) => d !== pluginDir)] }, null, 2)}\n`, { mode: 0o600 });
}

/** Takes `pluginDir` out of config.json again; a file that then holds nothing and did not exist before goes. */
async function removePluginDir(r: NonNullable<ClientRecord['config']>): Promise<void> {
  const path = join(r.configDir, 'config.json');
  const text = await readConfigText(path);
  if (text === null) return;
  const config = parseDockerConfig(text, path);
  const rest = extraDirs(config).filter((d) => d !== r.pluginDir);
  const { [CONFIG_KEY]: _ours, ...others } = config;
  const next = rest.length ? { ...others, [CONFIG_KEY]: rest } : others;
  if (!r.fileExisted && Object.keys(next).length === 0) {
    await rm(path, { force: true });
    // The directory too, when we made it and nothing else went into it since.
    if (!r.dirExisted) await rmdir(r.configDir).catch(() => undefined);
  } else {
    await writeFile(path, `${JSON.stringify(next, null, 2)}\n`);
  }
}

/** The copy under way; `finish` waits for it, then hands the CLI to the job's steps and gives the summary's facts. */
export interface ClientCopy {
  finish(): Promise<Record<string, string>>;
}

/**
 * main (dind), as soon as the daemon's container exists: starts copying the image's CLI and plugins (recorded in
 * state first) while the daemon boots. `finish` runs after the docker context is handed over: the plugin directory
 * goes into config.json after the context's own change, so post can take it out first.
 */
export function startClient(platform: Platform, state: Recorder<ClientState>, image: string): ClientCopy {
  const outer = state.value?.outer;
  if (!outer) throw new Error('client: the dind container was not started');
  return startClientWith(platform, state, image, new EngineClient(loadEndpoint(outer)));
}

/** startClient on a given engine (the outer one, which runs the daemon's container). */
export function startClientWith(platform: Platform, state: Recorder<ClientState>, image: string, engine: EngineClient): ClientCopy {
  const s = state.value!;
  if (!s.jobDir || !s.containerId) throw new Error('client: the dind container was not started');
  const dir = join(s.jobDir, 'client');
  state.update({ client: { dir } });
  const started = performance.now();
  const copying = copyClient(engine, s.containerId, dir, image).then((copied) => ({ copied, took: ((performance.now() - started) / 1000).toFixed(2) }));
  copying.catch(() => undefined); // reported by finish; a main that fails earlier leaves the directory to post
  return {
    async finish() {
      const { copied, took } = await copying;
      const plugins = Object.keys(copied.plugins).sort();
      if (plugins.length) {
        await addPluginDir(dockerConfigDir(platform.env), join(dir, 'cli-plugins'), (config) => state.update({ client: { dir, config } }));
      }
      platform.addPath(dir);
      const what = `the docker CLI of ${image} (${copied.cli})${plugins.length ? ` with the plugins ${plugins.join(', ')}` : ', no CLI plugins in the image'}`;
      platform.log.info(`setup-dind: ${what} in ${dir} (copied in ${took} s, while the daemon started), first on PATH for the next steps.`);
      return { 'docker CLI': `${copied.cli} of the image${plugins.length ? `, plugins ${plugins.join(', ')}` : ''}, in ${dir}` };
    },
  };
}

/** post: config.json without our plugin directory, and the directory removed. Problems are warnings. */
export async function undoClient(s: ClientState, platform: Platform): Promise<void> {
  if (!s.client) return;
  if (s.client.config) {
    await removePluginDir(s.client.config).catch((e: Error) =>
      platform.log.warning(`setup-dind: could not take ${s.client!.config!.pluginDir} out of ${join(s.client!.config!.configDir, 'config.json')}: ${e.message}`));
  }
  await rm(s.client.dir, { recursive: true, force: true });
}
