// The docker context "setup-dind": the job's daemon in the docker CLI's context store ($DOCKER_CONFIG or
// $HOME/.docker), so `docker --context setup-dind` reaches it whatever DOCKER_HOST says. Made the current context
// (config.json's currentContext) when DOCKER_HOST is not exported: with set-host false, and in container jobs, where
// the GitHub runner runs the host's `docker exec` for every later step with that step's environment (an exported
// DOCKER_HOST would send the runner's own `docker exec` to the job's daemon; the CLI inside the job container reads
// its own config directory, which the host's CLI never does). Post removes the context and puts config.json back.
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { contextId, dockerConfigDir } from '../endpoint/docker-config.js';
import { type DaemonEndpoint, TLS_FILES, clientEnvironment, formatAddress } from '../endpoint/endpoint.js';
import { writeFileNoWindow } from '../platform/private-file.js';

export { dockerConfigDir };
export const CONTEXT_NAME = 'setup-dind';

export interface ContextRecord {
  configDir: string;
  /** config.json before we set currentContext (null: there was none). */
  configBefore: string | null;
  /** currentContext was set (config.json is restored in post); absent in the state of earlier versions: true. */
  madeCurrent?: boolean;
  /** The config directory did not exist (or held only this context): post removes it again when nothing else is in it. */
  createdConfigDir?: boolean;
  /** The context's host as written: post leaves a context another job has rewritten since (same user, same name). */
  host?: string;
}

/** The config directory is missing, or holds nothing but a setup-dind context (another job's, created the same way). */
function onlyOurs(configDir: string): boolean {
  if (!existsSync(configDir)) return true;
  const id = contextId(CONTEXT_NAME);
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const top = list(configDir);
  return top.length === 1 && top[0] === 'contexts' && list(join(configDir, 'contexts')).every((d) => d === 'meta' || d === 'tls') &&
    ['meta', 'tls'].every((d) => list(join(configDir, 'contexts', d)).every((e) => e === id));
}

async function readConfig(configPath: string): Promise<{ before: string | null; config: Record<string, unknown> }> {
  let before: string | null = null;
  try {
    before = await readFile(configPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!before?.trim()) return { before, config: {} };
  try {
    return { before, config: JSON.parse(before) as Record<string, unknown> };
  } catch (e) {
    throw new Error(`${configPath} is not valid JSON (${(e as Error).message}); the docker context cannot be made current`);
  }
}

/** Writes the context (meta.json and TLS files); with makeCurrent also config.json's currentContext. Recorded first. */
export async function installDockerContext(
  configDir: string,
  endpoint: DaemonEndpoint,
  options: { makeCurrent: boolean },
  record: (r: ContextRecord) => void,
): Promise<void> {
  const configPath = join(configDir, 'config.json');
  const { before, config } = options.makeCurrent ? await readConfig(configPath) : { before: null, config: {} };
  const host = formatAddress(endpoint.address);
  record({ configDir, configBefore: before, madeCurrent: options.makeCurrent, host, ...(onlyOurs(configDir) ? { createdConfigDir: true } : {}) });
  const id = contextId(CONTEXT_NAME);
  const meta = {
    Name: CONTEXT_NAME,
    Metadata: { Description: "this job's Docker daemon (setup-dind)" },
    Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
  };
  await mkdir(join(configDir, 'contexts', 'meta', id), { recursive: true, mode: 0o700 });
  await writeFile(join(configDir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify(meta));
  if (endpoint.tlsCertPath) {
    const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
    await mkdir(tlsDir, { recursive: true, mode: 0o700 });
    for (const f of TLS_FILES) await writeFileNoWindow(join(tlsDir, f), await readFile(join(endpoint.tlsCertPath, f)), f === 'key.pem' ? 0o600 : 0o644);
  }
  if (options.makeCurrent) await writeFile(configPath, `${JSON.stringify({ ...config, currentContext: CONTEXT_NAME }, null, 2)}\n`, { mode: 0o600 });
}

export async function removeDockerContext(r: ContextRecord): Promise<void> {
  const id = contextId(CONTEXT_NAME);
  if (r.host && !(await stillOurs(join(r.configDir, 'contexts', 'meta', id, 'meta.json'), r.host))) {
    // Another job of this user wrote the context since: it is that job's to remove (config.json is still ours).
    if (r.madeCurrent !== false) await restoreConfig(r);
    return;
  }
  await rm(join(r.configDir, 'contexts', 'meta', id), { recursive: true, force: true });
  await rm(join(r.configDir, 'contexts', 'tls', id), { recursive: true, force: true });
  // The folders of the store, when nothing else is in them (the context was the first in this config directory).
  for (const dir of ['contexts/meta', 'contexts/tls', 'contexts']) await rmdir(join(r.configDir, dir)).catch(() => undefined);
  if (r.madeCurrent !== false) await restoreConfig(r);
  if (r.createdConfigDir) await rmdir(r.configDir).catch(() => undefined);
}

async function restoreConfig(r: ContextRecord): Promise<void> {
  const configPath = join(r.configDir, 'config.json');
  if (r.configBefore === null) await rm(configPath, { force: true });
  else await writeFile(configPath, r.configBefore);
}

async function stillOurs(metaPath: string, host: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(metaPath, 'utf8')) as { Endpoints?: { docker?: { Host?: string } } }).Endpoints?.docker?.Host === host;
  } catch {
    return true; // gone or unreadable: removing it again is harmless
  }
}

/** How the job's daemon is handed to the job's steps (see handToJob in phases.ts). */
export type Handover = 'environment' | 'context';

/**
 * Hands the daemon to the job's steps: DOCKER_HOST and friends (set-host true; the context is there too, not
 * current), or only the current docker context (set-host false, and container jobs). Messages go to `log`.
 */
export async function handOver(
  how: Handover,
  endpoint: DaemonEndpoint,
  env: Readonly<Record<string, string | undefined>>,
  io: { exportVariable(name: string, value: string): void; record(r: ContextRecord): void; warning(text: string): void },
): Promise<string> {
  const configDir = dockerConfigDir(env);
  if (how === 'environment') {
    for (const [name, value] of Object.entries(clientEnvironment(endpoint))) io.exportVariable(name, value);
    // The context is a convenience here: a config directory the action cannot write must not fail the job.
    await installDockerContext(configDir, endpoint, { makeCurrent: false }, io.record).catch((e: Error) =>
      io.warning(`setup-dind: the docker context "${CONTEXT_NAME}" could not be created in ${configDir} (${e.message}); DOCKER_HOST is exported, so the docker CLI reaches the daemon anyway.`));
    return `DOCKER_HOST is exported; the docker context "${CONTEXT_NAME}" in ${configDir} names the same daemon`;
  }
  await installDockerContext(configDir, endpoint, { makeCurrent: true }, io.record);
  const overriding = ['DOCKER_HOST', 'DOCKER_CONTEXT'].filter((name) => env[name]?.trim());
  if (overriding.length) {
    io.warning(
      `setup-dind: the docker context "${CONTEXT_NAME}" is now current in ${configDir}, but ${overriding.join(' and ')} ${overriding.length > 1 ? 'are' : 'is'} set in the job's environment ` +
        `and the docker CLI prefers ${overriding.length > 1 ? 'them' : 'it'}: unset ${overriding.join(' and ')} for later steps, or use set-host: true.`,
    );
  }
  return `the docker CLI uses the current context "${CONTEXT_NAME}" in ${configDir} (DOCKER_HOST is not exported)`;
}
