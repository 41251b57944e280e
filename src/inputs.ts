// Every input of the action: its default, how it is parsed and validated. All problems are reported together,
// and nothing is started while any input is invalid.
import { type DaemonAddress, parseDockerHost } from './endpoint.js';
import { parseDaemonArgs } from './daemon/daemon-args.js';
import { daemonArgsConflicts, buildDaemonJson } from './registry/daemon-json.js';
import { type RegistrySettings, isEmptyRegistrySettings, parseRegistrySettings } from './registry/settings.js';

export const MODES = ['dind', 'socket', 'external'] as const;
export type Mode = (typeof MODES)[number];
export const PRIVILEGED = ['auto', 'true', 'false'] as const;
export type Privileged = (typeof PRIVILEGED)[number];
export type JobStatus = 'success' | 'failure' | 'cancelled' | 'unknown';

/** The dind image used when none is given: a pinned major version of the official image. */
export const DEFAULT_DIND_IMAGE = 'docker:29-dind';
export const MAX_WAIT_SECONDS = 3600;

/** Defaults, as in action.yml (a test keeps the two equal). */
export const INPUT_DEFAULTS = {
  mode: 'dind',
  'docker-host': '',
  'tls-cert-path': '',
  'wait-timeout': '60',
  image: DEFAULT_DIND_IMAGE,
  privileged: 'auto',
  runtime: '',
  tcp: 'false',
  network: '',
  'daemon-args': '',
  'registry-mirrors': '',
  'insecure-registries': '',
  'registry-certs': '',
  'daemon-config': '',
  'configure-host': 'false',
  'cleanup-stale': '',
  cache: 'false',
  'cache-key': '',
  'cache-restore-keys': '',
  'cache-images': '',
  'cache-save': 'on-success',
  'cache-max-size': '',
  'cache-dir': '',
  'job-status': '${{ job.status }}',
} as const satisfies Record<string, string>;
export type InputName = keyof typeof INPUT_DEFAULTS;

export interface DindSettings {
  image: string;
  privileged: Privileged;
  runtime?: string;
  tcp: boolean;
  network?: string;
  daemonArgs: string[];
}

export const CACHE_STRATEGIES = ['false', 'images', 'data-root'] as const;
export const CACHE_SAVE = ['on-success', 'on-change', 'always', 'never'] as const;

export interface CacheSettings {
  strategy: 'images' | 'data-root';
  /** Explicit keys; undefined: derived from the job (cache/cache.ts). */
  key?: string;
  restoreKeys?: string[];
  /** Image name patterns (`*` and `?`); empty: every image present at post. */
  images: string[];
  save: (typeof CACHE_SAVE)[number];
  maxBytes?: number;
  /** A directory backend (GitLab, self-hosted); undefined: the CI system's cache service. */
  dir?: string;
}

/** "90s", "30m", "6h", "2d": milliseconds, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return ms > 0 && ms <= 366 * 86400e3 ? ms : undefined;
}

/** "500M", "2G", "1.5GiB", "1073741824": bytes, or undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
  if (!m) return undefined;
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

export interface Inputs {
  mode: Mode;
  /** For socket and external: the daemon the job uses. For dind: the engine that runs the dind container. */
  dockerHost?: DaemonAddress;
  tlsCertPath?: string;
  waitTimeoutMs: number;
  dind: DindSettings;
  /** Mirrors, insecure registries, certificates and daemon.json settings (syntax checked; files are read later). */
  registry: RegistrySettings;
  /** socket mode: allow changing the runner daemon's daemon.json (and reloading it). */
  configureHost: boolean;
  cache?: CacheSettings;
  /** Remove objects of other setup-dind sessions older than this (ms) from the engine; undefined: never. */
  cleanupStaleMs?: number;
  jobStatus: JobStatus;
}

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(`${problems.length === 1 ? 'An input is' : `${problems.length} inputs are`} invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InputError';
  }
}

import { showValue } from './show.js';

export { showValue };


const IMAGE_REF = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/**
 * Splits an argument list written one per line or separated by spaces, with '…' and "…" quoting and no expansion
 * of any kind: the words become an argv array, never a shell string.
 */
export function splitArguments(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`has an unclosed ${quote} quote`);
  if (inWord) args.push(current);
  return args;
}

function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off', ''].includes(v)) return false;
  return undefined;
}

/** Reads one raw input by name; the platform decides where it comes from (INPUT_* on GitHub, flags on the CLI). */
export type InputReader = (name: InputName) => string;

export function parseInputs(read: InputReader, context: { workspace: string } = { workspace: process.cwd() }): Inputs {
  const problems: string[] = [];
  const raw = (name: InputName): string => {
    const value = read(name);
    if (value.includes('\0')) {
      problems.push(`input "${name}": ${showValue(value)} contains a NUL character; remove it`);
      return '';
    }
    return value;
  };
  // Inputs already reported: later checks of the same input stay quiet, so each gets one clear problem.
  const reported = new Set<InputName>();
  const singleLine = (name: InputName): string => {
    const value = raw(name).trim();
    if (/[\r\n]/.test(value)) {
      problems.push(`input "${name}": ${showValue(value)} must be a single line; put the value on one line`);
      reported.add(name);
      return INPUT_DEFAULTS[name];
    }
    return value;
  };
  const oneOf = <T extends string>(name: InputName, allowed: readonly T[]): T => {
    const value = singleLine(name).toLowerCase();
    if (reported.has(name)) return allowed[0] as T;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push(`input "${name}": ${showValue(value)} is not allowed; use one of ${allowed.join(', ')}`);
    return allowed[0] as T;
  };

  const mode = oneOf('mode', MODES);

  let dockerHost: DaemonAddress | undefined;
  const hostText = singleLine('docker-host');
  if (hostText && !reported.has('docker-host')) {
    try {
      dockerHost = parseDockerHost(hostText);
    } catch (e) {
      problems.push(`input "docker-host": ${(e as Error).message}`);
    }
  } else if (mode === 'external') {
    problems.push('input "docker-host": is required with mode external; give the daemon\'s address, like unix:///run/docker/docker.sock or tcp://docker:2376');
  }

  const tlsText = singleLine('tls-cert-path');
  // Whether the directory holds the files is checked where it is used: in pre, the workspace is not checked out yet.
  const tlsCertPath = tlsText || undefined;
  if (tlsText && dockerHost?.kind === 'unix') {
    problems.push(`input "tls-cert-path": TLS applies to tcp:// addresses, but docker-host is ${showValue(hostText)}; remove tls-cert-path or use a tcp:// docker-host`);
  }

  let waitTimeoutMs = Number(INPUT_DEFAULTS['wait-timeout']) * 1000;
  const waitText = singleLine('wait-timeout');
  const wait = Number(waitText);
  if (reported.has('wait-timeout')) {
    // already reported
  } else if (waitText === '' || !Number.isFinite(wait) || wait <= 0 || wait > MAX_WAIT_SECONDS) {
    problems.push(`input "wait-timeout": ${showValue(waitText)} is not a number of seconds between 0 and ${MAX_WAIT_SECONDS}; use for example 60`);
  } else {
    waitTimeoutMs = Math.round(wait * 1000);
  }

  const image = singleLine('image');
  const privileged = oneOf('privileged', PRIVILEGED);
  const runtime = singleLine('runtime') || undefined;
  const tcpText = singleLine('tcp');
  const tcp = parseBoolean(tcpText);
  if (tcp === undefined && !reported.has('tcp')) problems.push(`input "tcp": ${showValue(tcpText)} is not a boolean; use true or false`);
  const network = singleLine('network') || undefined;
  let daemonArgs: string[] = [];
  try {
    daemonArgs = splitArguments(raw('daemon-args'));
  } catch (e) {
    problems.push(`input "daemon-args": ${showValue(raw('daemon-args'))} ${(e as Error).message}; close it or remove the quote`);
  }

  if (mode === 'dind') {
    if (image.length > 255 && !reported.has('image')) problems.push(`input "image": ${showValue(image)} is longer than the 255 characters an image reference may have; use the image's real name`);
    else if (!IMAGE_REF.test(image) && !reported.has('image')) problems.push(`input "image": ${showValue(image)} is not an image reference; use something like docker:29-dind or registry.example.com:5000/team/dind:1`);
    if (runtime && !OBJECT_NAME.test(runtime)) problems.push(`input "runtime": ${showValue(runtime)} is not a runtime name; use a name like sysbox-runc`);
    if (runtime && privileged === 'true') problems.push(`input "runtime": ${showValue(runtime)} runs the daemon unprivileged, but privileged is "true"; set privileged to auto or false, or remove runtime`);
    if (network && !OBJECT_NAME.test(network)) problems.push(`input "network": ${showValue(network)} is not a docker network name (letters, digits, _ . -, at most 128); use a name like ci-net`);
    problems.push(...parseDaemonArgs(daemonArgs).problems);
  } else {
    // Settings that only dind can honour: silently ignoring them would hide a mistake.
    const dindOnly: [InputName, string][] = [
      ['image', image], ['privileged', privileged], ['runtime', runtime ?? ''], ['tcp', tcp ? 'true' : 'false'],
      ['network', network ?? ''], ['daemon-args', daemonArgs.join(' ')],
    ];
    for (const [name, value] of dindOnly) {
      if (value !== INPUT_DEFAULTS[name]) problems.push(`input "${name}": ${showValue(value)} applies only to mode dind, but mode is ${mode}; remove it or use mode dind`);
    }
  }

  const { settings: registry, problems: registryProblems } = parseRegistrySettings(
    {
      'registry-mirrors': raw('registry-mirrors'),
      'insecure-registries': raw('insecure-registries'),
      'registry-certs': raw('registry-certs'),
      'daemon-config': raw('daemon-config'),
    },
    { baseDir: context.workspace },
  );
  problems.push(...registryProblems);
  const configureText = singleLine('configure-host');
  const configureHost = parseBoolean(configureText);
  if (configureHost === undefined && !reported.has('configure-host')) problems.push(`input "configure-host": ${showValue(configureText)} is not a boolean; use true or false`);
  if (configureHost && mode !== 'socket') problems.push(`input "configure-host": changes the runner's own daemon and applies only to mode socket, but mode is ${mode}; remove it`);
  if (!registryProblems.length) {
    const { config, problems: configProblems } = buildDaemonJson(registry);
    problems.push(...configProblems);
    if (mode === 'dind') problems.push(...daemonArgsConflicts(registry, config, daemonArgs));
    const daemonWide = (['registry-mirrors', 'insecure-registries', 'daemon-config'] as const).filter((name) =>
      name === 'registry-mirrors' ? registry.mirrors.length : name === 'insecure-registries' ? registry.insecure.length : Object.keys(registry.daemonConfig).length,
    );
    if (mode === 'socket' && !configureHost) {
      for (const name of daemonWide) {
        problems.push(`input "${name}": in mode socket this changes the runner's own daemon (its daemon.json, then a reload); set configure-host: true to allow that, or use mode dind`);
      }
    }
    if (mode === 'external' && !isEmptyRegistrySettings(registry)) {
      for (const name of daemonWide) {
        problems.push(`input "${name}": mode external uses a daemon the action does not manage, so its daemon.json cannot be changed; configure it where that daemon starts (for a service: its command, e.g. --registry-mirror=URL)`);
      }
    }
  }

  const strategy = oneOf('cache', CACHE_STRATEGIES);
  const cacheSave = oneOf('cache-save', CACHE_SAVE);
  const cacheKey = singleLine('cache-key') || undefined;
  const cacheKeyProblem = (name: InputName, key: string) => {
    if (key.length > 512) problems.push(`input "${name}": ${showValue(key)} is longer than 512 characters; use a shorter key`);
    if (key.includes(',')) problems.push(`input "${name}": ${showValue(key)} contains a comma, which cache keys cannot; remove it`);
  };
  if (cacheKey) cacheKeyProblem('cache-key', cacheKey);
  const restoreKeys = raw('cache-restore-keys').split('\n').map((k) => k.trim()).filter(Boolean);
  for (const k of restoreKeys) cacheKeyProblem('cache-restore-keys', k);
  const cacheImages = raw('cache-images').split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
  for (const pattern of cacheImages) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.:/@*?-]*$|^[*?][a-zA-Z0-9_.:/@*?-]*$/.test(pattern)) problems.push(`input "cache-images": ${showValue(pattern)} is not an image name or pattern; use names like busybox:1, myorg/* or *:latest`);
  }
  const sizeText = singleLine('cache-max-size');
  const maxBytes = sizeText ? parseSize(sizeText) : undefined;
  if (sizeText && maxBytes === undefined) problems.push(`input "cache-max-size": ${showValue(sizeText)} is not a size; use bytes or a number with K, M, G (like 2G or 500MiB)`);
  const cacheDir = singleLine('cache-dir') || undefined;
  if (cacheDir?.split(/[\\/]/).includes('..') && !cacheDir.startsWith('/')) problems.push(`input "cache-dir": ${showValue(cacheDir)} leaves the workspace; use a directory inside the project (GitLab caches only those) or an absolute path`);
  if (strategy === 'data-root' && mode !== 'dind') problems.push(`input "cache": "data-root" snapshots the job's own daemon and needs mode dind, but mode is ${mode}; use cache: images`);
  if (strategy === 'false') {
    const unused: [InputName, string][] = [['cache-key', cacheKey ?? ''], ['cache-restore-keys', restoreKeys.join(' ')], ['cache-images', cacheImages.join(' ')], ['cache-max-size', sizeText], ['cache-dir', cacheDir ?? '']];
    for (const [name, value] of unused) if (value) problems.push(`input "${name}": ${showValue(value)} has no effect while cache is false; set cache: images or data-root, or remove it`);
  }
  const cache: CacheSettings | undefined = strategy === 'false' ? undefined : {
    strategy, key: cacheKey, restoreKeys: restoreKeys.length ? restoreKeys : undefined, images: cacheImages, save: cacheSave, maxBytes,
    dir: cacheDir,
  };

  const staleText = singleLine('cleanup-stale');
  const cleanupStaleMs = staleText ? parseDuration(staleText) : undefined;
  if (staleText && cleanupStaleMs === undefined) problems.push(`input "cleanup-stale": ${showValue(staleText)} is not an age; use a number with s, m, h or d (like 6h) up to 366d, or leave it empty`);
  if (staleText && mode === 'external') problems.push(`input "cleanup-stale": reaps leftovers on the runner's engine, which mode external does not use; remove it`);

  const statusText = singleLine('job-status').toLowerCase();
  const jobStatus: JobStatus = statusText === 'success' || statusText === 'failure' || statusText === 'cancelled' ? statusText : 'unknown';

  if (problems.length) throw new InputError(problems);
  return {
    mode,
    dockerHost,
    tlsCertPath,
    waitTimeoutMs,
    dind: { image, privileged, runtime, tcp: tcp ?? false, network, daemonArgs },
    registry,
    configureHost: configureHost ?? false,
    cache,
    cleanupStaleMs,
    jobStatus,
  };
}
