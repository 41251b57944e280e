// Every input of the action: its default, how it is parsed and validated. All problems are reported together,
// and nothing is started while any input is invalid.
import { type BuilderSettings, DEFAULT_BUILDX_IMAGE, parseBuilderSettings } from '../builder/settings.js';
import { type CacheSettings, parseCacheSettings } from '../cache/settings.js';
import { parseClientSetting } from '../dockercli/settings.js';
import { type DaemonAddress, parseDockerHost } from '../endpoint/endpoint.js';
import { parseDaemonArgs } from '../daemon-args.js';
import { type Fields, fieldsOf, parseBoolean } from '../fields.js';
import { type ImageSupplySettings, parseImageSupply } from '../image/settings.js';
import { isRootlessImage } from '../daemon/rootless.js';
import { type NetworkSettings, networkProblems, parseNetworkSettings } from '../network/settings.js';
import { registryModeProblems } from '../registry/daemon-json.js';
import { type RegistrySettings, parseRegistrySettings } from '../registry/settings.js';
import { showValue } from '../show.js';
import { DEFAULT_DIND_IMAGE, type DindSettings, MODES, type Mode, PRIVILEGED } from '../daemon/settings.js';
import { INTEGRATION_DEFAULTS, type IntegrationSettings, parseIntegration } from '../like-runner/settings.js';

export { CACHE_SAVE, CACHE_STRATEGIES, type CacheSettings, parseSize } from '../cache/settings.js';
export { showValue };
export { DEFAULT_DIND_IMAGE, type DindSettings, MODES, type Mode, PRIVILEGED, type Privileged } from '../daemon/settings.js';

export type JobStatus = 'success' | 'failure' | 'cancelled' | 'unknown';

export const MAX_WAIT_SECONDS = 3600;

/** Defaults, as in action.yml (a test keeps the two equal). */
export const INPUT_DEFAULTS = {
  mode: 'dind',
  'docker-host': '',
  'tls-cert-path': '',
  'wait-timeout': '60',
  'set-host': 'true',
  image: DEFAULT_DIND_IMAGE,
  'image-mirror': '',
  'image-username': '',
  'image-password': '',
  privileged: 'auto',
  rootless: 'false',
  runtime: '',
  tcp: 'false',
  network: '',
  'daemon-args': '',
  'default-address-pools': '',
  bip: '',
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
  ...INTEGRATION_DEFAULTS,
  'cache-keep': '1',
  'cache-volumes': 'false',
  'cache-build-size': '1G',
  buildx: 'false',
  'buildx-image': DEFAULT_BUILDX_IMAGE,
  client: 'false',
  token: '${{ github.token }}',
  'job-status': '${{ job.status }}',
  matrix: '${{ toJSON(matrix) }}',
} as const satisfies Record<string, string>;
export type InputName = keyof typeof INPUT_DEFAULTS;

/** "90s", "30m", "6h", "2d": milliseconds, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return ms > 0 && ms <= 366 * 86400e3 ? ms : undefined;
}

export interface Inputs {
  mode: Mode;
  /** For socket and external: the daemon the job uses. For dind: the engine that runs the dind container. */
  dockerHost?: DaemonAddress;
  tlsCertPath?: string;
  waitTimeoutMs: number;
  /** Export DOCKER_HOST (true) or only make the docker context "setup-dind" current (false). */
  setHost: boolean;
  dind: DindSettings;
  /** How the dind image gets onto the engine: a mirror, explicit credentials (dind). */
  imageSupply: ImageSupplySettings;
  /** Mirrors, insecure registries, certificates and daemon.json settings (syntax checked; files are read later). */
  registry: RegistrySettings;
  /** The job daemon's address pools and default bridge address (dind). */
  network: NetworkSettings;
  /** socket mode: allow changing the runner daemon's daemon.json (and reloading it). */
  configureHost: boolean;
  cache?: CacheSettings;
  /** buildx: a docker-container builder on the job's daemon; undefined: none. */
  builder?: BuilderSettings;
  /** dind: the image's docker CLI and plugins first on PATH for the job's steps (client/). */
  client: boolean;
  /** Remove objects of other setup-dind sessions older than this (ms) from the engine; undefined: never. */
  cleanupStaleMs?: number;
  /** dind: job paths, mounts, MTU, proxies and port forwarding (like-runner/settings.ts). */
  integration: IntegrationSettings;
  jobStatus: JobStatus;
}

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(`${problems.length === 1 ? 'An input is' : `${problems.length} inputs are`} invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InputError';
  }
}

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

/** Reads one raw input by name; the platform decides where it comes from (INPUT_* on GitHub, flags on the CLI). */
export type InputReader = (name: InputName) => string;

export function parseInputs(read: InputReader, context: { workspace: string } = { workspace: process.cwd() }): Inputs {
  const f = fieldsOf(read, INPUT_DEFAULTS);
  const mode = f.oneOf('mode', MODES);
  const { dockerHost, tlsCertPath } = parseDaemonTarget(f, mode);
  const waitTimeoutMs = parseWaitTimeout(f);
  const setHost = parseSetHost(f);
  const dind = parseDindSettings(f, mode);
  const registry = parseRegistry(f, context.workspace);
  const configureHost = f.boolean('configure-host');
  if (configureHost && mode !== 'socket') f.problems.push(`input "configure-host": changes the runner's own daemon and applies only to mode socket, but mode is ${mode}; remove it`);
  if (registry) f.problems.push(...registryModeProblems(registry, { mode, configureHost: configureHost ?? false, daemonArgs: dind.daemonArgs }));
  const imageSupply = parseImageInputs(f, mode);
  const network = parseNetwork(f, mode, registry?.daemonConfig ?? {}, dind.daemonArgs);
  const cache = parseCacheSettings(f, mode);
  if (dind.rootless && cache?.strategy === 'data-root') {
    f.problems.push(`input "cache": "data-root" snapshots a root daemon's /var/lib/docker, and image ${showValue(dind.image)} runs rootless; use cache: images, or the root dind image`);
  }
  const builder = parseBuilderSettings(f);
  const client = parseClientSetting(f, mode);
  const cleanupStaleMs = parseCleanupStale(f, mode);
  const { settings: integration, problems: integrationProblems } = parseIntegration((name) => f.raw(name), {
    mode, daemonArgs: dind.daemonArgs, daemonConfig: registry?.daemonConfig ?? {},
  });
  f.problems.push(...integrationProblems);
  const statusText = f.line('job-status').toLowerCase();
  const jobStatus: JobStatus = statusText === 'success' || statusText === 'failure' || statusText === 'cancelled' ? statusText : 'unknown';

  if (f.problems.length) throw new InputError(f.problems);
  return {
    mode,
    dockerHost,
    tlsCertPath,
    waitTimeoutMs,
    setHost,
    dind,
    registry: registry!,
    network,
    imageSupply,
    configureHost: configureHost ?? false,
    cache,
    builder,
    client,
    cleanupStaleMs,
    integration,
    jobStatus,
  };
}

/** docker-host and tls-cert-path: the daemon the job uses (socket, external) or the engine that runs dind. */
function parseDaemonTarget(f: Fields<InputName>, mode: Mode): { dockerHost?: DaemonAddress; tlsCertPath?: string } {
  let dockerHost: DaemonAddress | undefined;
  const hostText = f.line('docker-host');
  if (hostText && !f.reported('docker-host')) {
    try {
      dockerHost = parseDockerHost(hostText);
    } catch (e) {
      f.problems.push(`input "docker-host": ${(e as Error).message}`);
    }
  } else if (mode === 'external') {
    f.problems.push('input "docker-host": is required with mode external; give the daemon\'s address, like unix:///run/docker/docker.sock or tcp://docker:2376');
  }
  const tlsText = f.line('tls-cert-path');
  // Whether the directory holds the files is checked where it is used: in pre, the workspace is not checked out yet.
  if (tlsText && dockerHost?.kind === 'unix') {
    f.problems.push(`input "tls-cert-path": TLS applies to tcp:// addresses, but docker-host is ${showValue(hostText)}; remove tls-cert-path or use a tcp:// docker-host`);
  }
  return { dockerHost, tlsCertPath: tlsText || undefined };
}

/** Empty means the default (true), not false: the docker CLI still has to find the daemon. */
function parseSetHost(f: Fields<InputName>): boolean {
  const text = f.line('set-host');
  if (text === '' || f.reported('set-host')) return true;
  const value = parseBoolean(text);
  if (value === undefined) f.problems.push(`input "set-host": ${showValue(text)} is not a boolean; use true (export DOCKER_HOST) or false (only the docker context "setup-dind")`);
  return value ?? true;
}

function parseWaitTimeout(f: Fields<InputName>): number {
  const text = f.line('wait-timeout');
  const wait = Number(text);
  if (f.reported('wait-timeout')) return Number(INPUT_DEFAULTS['wait-timeout']) * 1000;
  if (text === '' || !Number.isFinite(wait) || wait <= 0 || wait > MAX_WAIT_SECONDS) {
    f.problems.push(`input "wait-timeout": ${showValue(text)} is not a number of seconds between 0 and ${MAX_WAIT_SECONDS}; use for example 60`);
    return Number(INPUT_DEFAULTS['wait-timeout']) * 1000;
  }
  return Math.round(wait * 1000);
}

/** The dind container's settings; in the other modes they must keep their defaults (ignoring them would hide a mistake). */
function parseDindSettings(f: Fields<InputName>, mode: Mode): DindSettings {
  const image = f.line('image');
  const privileged = f.oneOf('privileged', PRIVILEGED);
  const runtime = f.line('runtime') || undefined;
  const tcp = f.boolean('tcp');
  const rootless = (f.boolean('rootless') ?? false) || (mode === 'dind' && isRootlessImage(image));
  const network = f.line('network') || undefined;
  let daemonArgs: string[] = [];
  try {
    daemonArgs = splitArguments(f.raw('daemon-args'));
  } catch (e) {
    f.problems.push(`input "daemon-args": ${showValue(f.raw('daemon-args'))} ${(e as Error).message}; close it or remove the quote`);
  }
  // A rootless daemon's socket is its user's, in a user namespace: the runner reaches it over TCP with TLS.
  const settings: DindSettings = { image, privileged, runtime, tcp: (tcp ?? false) || rootless, network, daemonArgs, rootless };
  if (mode === 'dind') {
    f.problems.push(...dindProblems(settings, f));
  } else {
    const dindOnly: [InputName, string][] = [
      ['image', image], ['privileged', privileged], ['runtime', runtime ?? ''], ['tcp', tcp ? 'true' : 'false'],
      ['network', network ?? ''], ['daemon-args', daemonArgs.join(' ')], ['rootless', rootless ? 'true' : 'false'],
    ];
    for (const [name, value] of dindOnly) {
      if (value !== INPUT_DEFAULTS[name]) f.problems.push(`input "${name}": ${showValue(value)} applies only to mode dind, but mode is ${mode}; remove it or use mode dind`);
    }
  }
  return settings;
}

function dindProblems({ image, privileged, runtime, network, daemonArgs, rootless }: DindSettings, f: Fields<InputName>): string[] {
  const problems: string[] = [];
  if (image.length > 255 && !f.reported('image')) problems.push(`input "image": ${showValue(image)} is longer than the 255 characters an image reference may have; use the image's real name`);
  else if (!IMAGE_REF.test(image) && !f.reported('image')) problems.push(`input "image": ${showValue(image)} is not an image reference; use something like docker:29-dind or registry.example.com:5000/team/dind:1`);
  if (runtime && !OBJECT_NAME.test(runtime)) problems.push(`input "runtime": ${showValue(runtime)} is not a runtime name; use a name like sysbox-runc`);
  if (runtime && privileged === 'true') problems.push(`input "runtime": ${showValue(runtime)} runs the daemon unprivileged, but privileged is "true"; set privileged to auto or false, or remove runtime`);
  if (network && !OBJECT_NAME.test(network)) problems.push(`input "network": ${showValue(network)} is not a docker network name (letters, digits, _ . -, at most 128); use a name like ci-net`);
  problems.push(...parseDaemonArgs(daemonArgs).problems);
  if (rootless && f.raw('registry-certs').trim()) {
    problems.push(`input "registry-certs": a rootless daemon reads its certificates from its user's own config directory, which the action does not fill yet (image ${showValue(image)} runs rootless); use the root dind image with registry-certs, or insecure-registries`);
  }
  return problems;
}

/** The registry inputs through registry/settings.ts; undefined when their syntax has problems (reported). */
function parseRegistry(f: Fields<InputName>, workspace: string): RegistrySettings | undefined {
  const { settings, problems } = parseRegistrySettings(
    {
      'registry-mirrors': f.raw('registry-mirrors'),
      'insecure-registries': f.raw('insecure-registries'),
      'registry-certs': f.raw('registry-certs'),
      'daemon-config': f.raw('daemon-config'),
    },
    { baseDir: workspace },
  );
  f.problems.push(...problems);
  return problems.length ? undefined : settings;
}

function parseImageInputs(f: Fields<InputName>, mode: Mode): ImageSupplySettings {
  const { settings, problems } = parseImageSupply({ 'image-mirror': f.line('image-mirror'), 'image-username': f.line('image-username'), 'image-password': f.raw('image-password') }, mode);
  // A multi-line user name is reported once (as such), not again as missing.
  f.problems.push(...problems.filter((p) => !(f.reported('image-username') && p.startsWith('input "image-username"'))));
  return settings;
}

/** default-address-pools and bip through network/settings.ts, with what they mean for the mode and other inputs. */
function parseNetwork(f: Fields<InputName>, mode: Mode, daemonConfig: Record<string, unknown>, daemonArgs: string[]): NetworkSettings {
  const { settings, problems } = parseNetworkSettings({ 'default-address-pools': f.raw('default-address-pools'), bip: f.line('bip') });
  f.problems.push(...problems);
  if (!problems.length) f.problems.push(...networkProblems(settings, { mode, daemonConfig, daemonArgs }));
  return settings;
}

function parseCleanupStale(f: Fields<InputName>, mode: Mode): number | undefined {
  const text = f.line('cleanup-stale');
  const ms = text ? parseDuration(text) : undefined;
  if (text && ms === undefined) f.problems.push(`input "cleanup-stale": ${showValue(text)} is not an age; use a number with s, m, h or d (like 6h) up to 366d, or leave it empty`);
  if (text && mode === 'external') f.problems.push(`input "cleanup-stale": reaps leftovers on the runner's engine, which mode external does not use; remove it`);
  return ms;
}
