// Where a Docker daemon is reached: the one value every module passes around instead of loose strings.
import { existsSync } from 'node:fs';
import { showValue } from '../show.js';
import { join } from 'node:path';
import { readContext, selectedContext } from './docker-config.js';

export type DaemonAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

export interface DaemonEndpoint {
  address: DaemonAddress;
  /** A directory with ca.pem, cert.pem and key.pem (the docker CLI's DOCKER_CERT_PATH layout): TLS with verification. */
  tlsCertPath?: string;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
export const TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;

/** Parses a DOCKER_HOST-style URL. Throws with a message that says what is allowed; callers add the input's name. */
export function parseDockerHost(value: string): DaemonAddress {
  const text = value.trim();
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) throw new Error(`${showValue(value)} must name an absolute socket path; use something like unix:///var/run/docker.sock`);
    if (/[\0\n\r]/.test(path)) throw new Error(`${showValue(value)} contains control characters; remove them`);
    return { kind: 'unix', path };
  }
  if (text.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`${showValue(value)} is not a valid tcp:// address; use tcp://HOST:PORT`);
    }
    if (!url.hostname || !url.port) throw new Error(`${showValue(value)} needs a host and a port; use something like tcp://docker:2376`);
    if (url.pathname !== '/' && url.pathname !== '') throw new Error(`${showValue(value)} must not have a path; use tcp://HOST:PORT`);
    if (url.username || url.password || url.search || url.hash) throw new Error(`${showValue(value)} must be only tcp://HOST:PORT; remove the rest`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return { kind: 'tcp', host, port: Number(url.port) };
  }
  throw new Error(`${showValue(value)} is not a supported address; use unix:///path/to/docker.sock or tcp://HOST:PORT`);
}

export function formatAddress(address: DaemonAddress): string {
  if (address.kind === 'unix') return `unix://${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}

/** The TLS certificate files are not (yet) there: a daemon that writes them when it starts may still do so. */
export class TlsFilesMissingError extends Error {}

/** Problems with a TLS certificate directory, as sentences; empty when it is usable. */
export function checkTlsCertPath(dir: string): string[] {
  if (!existsSync(dir)) return [`directory ${showValue(dir)} does not exist; give the directory that holds ca.pem, cert.pem and key.pem`];
  const missing = TLS_FILES.filter((f) => !existsSync(join(dir, f)));
  return missing.length ? [`${showValue(dir)} lacks ${missing.join(', ')}; it needs ca.pem, cert.pem and key.pem`] : [];
}

/** The environment the docker CLI needs to reach this endpoint. */
export function clientEnvironment(endpoint: DaemonEndpoint): Record<string, string> {
  const env: Record<string, string> = { DOCKER_HOST: formatAddress(endpoint.address) };
  if (endpoint.tlsCertPath) {
    env.DOCKER_TLS_VERIFY = '1';
    env.DOCKER_CERT_PATH = endpoint.tlsCertPath;
  }
  return env;
}

/** Where the engine is, before its TLS files are checked: a daemon that writes them when it starts may still do so. */
export interface EngineLocation {
  endpoint: DaemonEndpoint;
  /** Where tlsCertPath came from, for messages ('input "tls-cert-path"' or 'DOCKER_CERT_PATH'). */
  tlsSource?: string;
}

/**
 * The engine the action talks to, found the way the docker CLI finds it: the docker-host input, else DOCKER_HOST,
 * else the context named by DOCKER_CONTEXT, else the currentContext of the user's docker config, else the default
 * socket. TLS from tls-cert-path, else DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set (with DOCKER_HOST), else the
 * context's TLS material. A phase locates it once and passes it on; whether the TLS files exist is checked where
 * they are used (checkedEndpoint).
 */
export function locateEngine(
  input: { dockerHost?: DaemonAddress; tlsCertPath?: string },
  env: Readonly<Record<string, string | undefined>>,
): EngineLocation {
  if (input.dockerHost) {
    return input.tlsCertPath
      ? { endpoint: { address: input.dockerHost, tlsCertPath: input.tlsCertPath }, tlsSource: 'input "tls-cert-path"' }
      : { endpoint: { address: input.dockerHost } };
  }
  const fromEnv = env.DOCKER_HOST?.trim();
  const located = fromEnv ? fromDockerHost(fromEnv, env) : (fromContext(env) ?? { endpoint: { address: parseDockerHost(DEFAULT_DOCKER_HOST) } });
  if (input.tlsCertPath) return { endpoint: { ...located.endpoint, tlsCertPath: input.tlsCertPath }, tlsSource: 'input "tls-cert-path"' };
  return located;
}

function fromDockerHost(value: string, env: Readonly<Record<string, string | undefined>>): EngineLocation {
  let address: DaemonAddress;
  try {
    address = parseDockerHost(value);
  } catch (e) {
    throw new Error(`DOCKER_HOST: ${(e as Error).message}; set docker-host or fix DOCKER_HOST`);
  }
  if (env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0' && address.kind === 'tcp') {
    return { endpoint: { address, tlsCertPath: env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker') }, tlsSource: 'DOCKER_CERT_PATH' };
  }
  return { endpoint: { address } };
}

/** The context DOCKER_CONTEXT or the docker config selects; undefined for none or "default". */
function fromContext(env: Readonly<Record<string, string | undefined>>): EngineLocation | undefined {
  const selected = selectedContext(env);
  if (!selected) return undefined;
  const where = `docker context "${selected.name}" (from ${selected.source})`;
  const context = readContextFor(selected, where);
  let address: DaemonAddress;
  try {
    address = parseDockerHost(context.host);
  } catch (e) {
    throw new Error(`${where}: its host ${(e as Error).message}; set docker-host, or DOCKER_HOST, to an address the action can reach`);
  }
  if (context.skipTlsVerify) {
    throw new Error(`${where} skips TLS verification, which the action does not do; give the CA in the context (docker context create --docker ca=...) or set docker-host and tls-cert-path`);
  }
  if (context.tlsDir && address.kind === 'tcp') return { endpoint: { address, tlsCertPath: context.tlsDir }, tlsSource: where };
  return { endpoint: { address } };
}

function readContextFor(selected: { name: string; configDir: string }, where: string) {
  try {
    return readContext(selected.configDir, selected.name);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message.replace(/^context "[^"]*" /, '')}`);
  }
}

/** The located endpoint once its TLS files exist; TlsFilesMissingError while they do not. */
export function checkedEndpoint(location: EngineLocation): DaemonEndpoint {
  const { tlsCertPath } = location.endpoint;
  if (tlsCertPath) {
    const problems = checkTlsCertPath(tlsCertPath);
    if (problems.length) throw new TlsFilesMissingError(`${location.tlsSource}: ${problems.join('; ')}`);
  }
  return location.endpoint;
}

/** locateEngine, then checkedEndpoint: for callers that need a usable endpoint at once. */
export const resolveEngine = (input: { dockerHost?: DaemonAddress; tlsCertPath?: string }, env: Readonly<Record<string, string | undefined>>): DaemonEndpoint =>
  checkedEndpoint(locateEngine(input, env));

/** An endpoint as it is kept in state between phases. */
export interface SavedEndpoint {
  host: string;
  tlsCertPath?: string;
}

export const saveEndpoint = (e: DaemonEndpoint): SavedEndpoint => ({
  host: formatAddress(e.address),
  ...(e.tlsCertPath ? { tlsCertPath: e.tlsCertPath } : {}),
});

export const loadEndpoint = (s: SavedEndpoint): DaemonEndpoint => ({
  address: parseDockerHost(s.host),
  ...(s.tlsCertPath ? { tlsCertPath: s.tlsCertPath } : {}),
});
