// The docker CLI's own configuration, read the way the CLI reads it: the config directory ($DOCKER_CONFIG, else
// ~/.docker), config.json (currentContext, auths, credential helpers) and the context store under contexts/
// (contexts/meta/<sha256 of the name>/meta.json, TLS material in contexts/tls/<same id>/docker/). Raw strings out:
// endpoint.ts turns a context's host into a DaemonEndpoint.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

export const dockerConfigDir = (env: Env): string => env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');

/** The directory name of a context in the store: the hex SHA-256 of its name. */
export const contextId = (name: string): string => createHash('sha256').update(name).digest('hex');

export interface DockerConfigFile {
  currentContext?: string;
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** config.json of a config directory; {} when there is none. A file that is not JSON is an error naming it. */
export function readDockerConfig(configDir: string): DockerConfigFile {
  const path = join(configDir, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseDockerConfig(text, path) as DockerConfigFile;
}

/** config.json's text as an object ({} when empty); a text that is no JSON object is an error naming `path`. */
export function parseDockerConfig(text: string, path: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); fix or remove it`);
  }
}

/** A context's docker endpoint as stored: its host URL and, when the context has TLS material, that directory. */
export interface ContextEndpoint {
  name: string;
  host: string;
  /** contexts/tls/<id>/docker: ca.pem, cert.pem, key.pem (the DOCKER_CERT_PATH layout). */
  tlsDir?: string;
  skipTlsVerify: boolean;
  /** Where it was read, for messages. */
  metaPath: string;
}

/**
 * The context named `name` in the config directory's store. "default" is not stored: it stands for DOCKER_HOST or
 * the default socket, so the caller handles it. Throws with the path and a remedy when it is missing or unusable.
 */
export function readContext(configDir: string, name: string): ContextEndpoint {
  const id = contextId(name);
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let meta: { Name?: string; Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as typeof meta;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`context "${name}" does not exist (no ${metaPath}); create it with docker context create, or name an existing one`);
    }
    throw new Error(`context "${name}": ${metaPath} is not readable JSON (${(e as Error).message})`);
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new Error(`context "${name}" has no docker endpoint host in ${metaPath}`);
  const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
  return { name, host, metaPath, skipTlsVerify: meta.Endpoints?.docker?.SkipTLSVerify === true, ...(existsSync(tlsDir) ? { tlsDir } : {}) };
}

/**
 * The context the docker CLI would use when DOCKER_HOST is not set: DOCKER_CONTEXT, else config.json's
 * currentContext; undefined for "default" or none. `source` says where the name came from, for messages.
 */
export function selectedContext(env: Env): { name: string; source: string; configDir: string } | undefined {
  const configDir = dockerConfigDir(env);
  const fromEnv = env.DOCKER_CONTEXT?.trim();
  if (fromEnv) return fromEnv === 'default' ? undefined : { name: fromEnv, source: 'DOCKER_CONTEXT', configDir };
  const current = readDockerConfig(configDir).currentContext?.trim();
  if (!current || current === 'default') return undefined;
  return { name: current, source: `currentContext in ${join(configDir, 'config.json')}`, configDir };
}
