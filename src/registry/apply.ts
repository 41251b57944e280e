// Registry settings through a job's phases. pre: check everything that can be checked (the workspace is not checked
// out yet) and give dind its daemon.json. main: load every certificate, install it where the mode's daemon reads it,
// write buildkitd.toml. post: undo what was changed on the runner's own daemon (socket mode).
import { mkdir, writeFile } from 'node:fs/promises';
import { writeFileNoWindow } from '../platform/private-file.js';
import { dirname, join } from 'node:path';
import type { EngineClient } from '../engine/client.js';
import { realClock } from '../engine/readiness.js';
import type { Logger, Platform, Recorder } from '../platform/platform.js';
import { buildkitdToml } from './buildkit.js';
import { certsDirFiles, loadRegistryTrust } from './certs.js';
import { buildDaemonJson } from './daemon-json.js';
import { type HostChanges, PrivilegedFiles, configureHostDaemon, hostPaths, installHostCerts, restoreHostCerts, restoreHostDaemon } from './host.js';

/** What the registry records in the job's state (state.ts composes it into the whole record). */
export interface RegistryState {
  /** socket mode: what the action changed on the runner's own daemon, to restore in post. */
  hostChanges?: HostChanges;
}
import { type RegistrySettings, isEmptyRegistrySettings } from './settings.js';

/** What the registry capability needs to know about the job: its settings and the daemon they go to. */
export interface RegistryUse {
  mode: 'dind' | 'socket' | 'external';
  registry: RegistrySettings;
  /** socket mode: the runner daemon's daemon.json may be changed. */
  configureHost: boolean;
}

/** The daemon.json for the job's dockerd, or undefined when there is nothing to set. */
export function daemonConfigFor(inputs: Pick<RegistryUse, 'registry'>): Record<string, unknown> | undefined {
  const { config } = buildDaemonJson(inputs.registry);
  return Object.keys(config).length ? config : undefined;
}

/** Certificate problems that can be found before checkout; sources that do not exist yet are checked in main. */
export async function checkRegistryEarly(inputs: Pick<RegistryUse, 'registry'>, workspace: string): Promise<string[]> {
  if (!inputs.registry.certs.length) return [];
  return (await loadRegistryTrust(inputs.registry.certs, { baseDir: workspace })).problems;
}

export interface RegistryResult {
  outputs: Record<string, string>;
  facts: Record<string, string>;
}

async function writeFiles(dir: string, files: { path: string; content: string; mode: number }[]): Promise<void> {
  for (const file of files) {
    const path = join(dir, file.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFileNoWindow(path, file.content, file.mode);
  }
}

/**
 * main: loads every certificate (all problems at once), masks inline keys, installs the certificates where the
 * daemon reads them, and writes buildkitd.toml next to them.
 */
export async function applyRegistry(inputs: RegistryUse, platform: Platform, state: Recorder<RegistryState>, jobDir: () => Promise<string>): Promise<RegistryResult> {
  const settings = inputs.registry;
  if (isEmptyRegistrySettings(settings)) return { outputs: { 'buildkitd-config': '' }, facts: {} };
  const log = platform.log;
  const loaded = await loadRegistryTrust(settings.certs, { baseDir: platform.job.workspace });
  for (const secret of loaded.secrets) {
    platform.mask(secret);
    for (const line of secret.split('\n')) if (line.trim() && !line.startsWith('-----')) platform.mask(line.trim());
  }
  // After checkout every source must exist; in pre, missing workspace files were only deferred.
  for (const path of loaded.missing) loaded.problems.push(`input "registry-certs": ${path} does not exist; check the path (relative paths start at the workspace)`);
  if (loaded.problems.length) {
    throw new Error(`registry-certs cannot be used:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const files = certsDirFiles(loaded.trust);
  const dir = await jobDir();
  // Our own copy in the job directory: dind mounts it as /etc/docker/certs.d, and buildkitd.toml points at it.
  const certsDir = join(dir, 'certs.d');
  await writeFiles(certsDir, files);

  if (inputs.mode === 'socket' && files.length) {
    const paths = hostPaths(platform.env);
    const io = new PrivilegedFiles();
    const changes: HostChanges = { certDirs: [], ...state.value?.hostChanges };
    await installHostCerts(files, paths, io, (certDirs) => state.update({ hostChanges: { ...changes, certDirs } }), join(dir, 'host-backup'));
    log.info(`Installed certificates for ${loaded.trust.map((t) => t.host).join(', ')} into ${paths.certsDir} (post restores what was there).`);
  }
  if (inputs.mode === 'socket' && inputs.configureHost) {
    const config = daemonConfigFor(inputs);
    if (config) {
      const paths = hostPaths(platform.env);
      await configureHostDaemon(
        config,
        paths,
        new PrivilegedFiles(),
        (daemonJson) => state.update({ hostChanges: { certDirs: [], ...state.value?.hostChanges, daemonJson } }),
        join(dir, 'host-backup', 'daemon-json'),
      );
      log.info(`Merged ${Object.keys(config).join(', ')} into ${paths.daemonJson} and reloaded dockerd (post restores the file).`);
    }
  }
  if (inputs.mode === 'external' && files.length) {
    log.warning(
      `registry-certs (${loaded.trust.map((t) => t.host).join(', ')}) cannot be installed into an external daemon the action does not manage; ` +
        'they are in the buildkitd-config output for BuildKit builders. Install them where that daemon runs (its /etc/docker/certs.d).',
    );
  }

  const tomlPath = join(dir, 'buildkitd.toml');
  const byHost = (host: string, name: string) => (files.some((f) => f.path === `${host}/${name}`) ? join(certsDir, host, name) : undefined);
  const toml = buildkitdToml(
    settings,
    loaded.trust.map((t) => ({ host: t.host, ca: byHost(t.host, 'ca.crt'), cert: byHost(t.host, 'client.cert'), key: byHost(t.host, 'client.key') })),
  );
  await writeFile(tomlPath, toml, { mode: 0o644 });

  const facts: Record<string, string> = {};
  if (settings.mirrors.length) facts['Registry mirrors'] = settings.mirrors.join(', ');
  if (settings.insecure.length) facts['Insecure registries'] = settings.insecure.join(', ');
  if (loaded.trust.length) facts['Registry certificates'] = loaded.trust.map((t) => `${t.host}${t.client ? ' (with client certificate)' : ''}`).join(', ');
  return { outputs: { 'buildkitd-config': tomlPath }, facts };
}

/** post: restores the runner daemon's certs.d directories and daemon.json exactly as they were. */
export async function undoRegistry(
  changes: HostChanges | undefined,
  log: Logger,
  reloaded?: (expected: Record<string, unknown>) => Promise<void>,
): Promise<string[]> {
  const done: string[] = [];
  if (!changes) return done;
  const io = new PrivilegedFiles();
  if (changes.certDirs.length) {
    try {
      await restoreHostCerts(changes.certDirs, io);
      done.push(`certificates in ${changes.certDirs.map((c) => c.dir).join(', ')}`);
    } catch (e) {
      log.warning(`Could not restore the runner's certs.d: ${(e as Error).message}`);
    }
  }
  if (changes.daemonJson) {
    try {
      await restoreHostDaemon(changes.daemonJson, io, reloaded);
      done.push(`${changes.daemonJson.path} (daemon reloaded)`);
    } catch (e) {
      log.warning(`Could not restore ${changes.daemonJson.path}: ${(e as Error).message}`);
    }
  }
  return done;
}

/** Waits (at most 5 s) until the runner's daemon reports the registry mirrors a reload was meant to set. */
export function reloadedTo(daemon: EngineClient) {
  return async (expected: Record<string, unknown>): Promise<void> => {
    const want = ((expected['registry-mirrors'] as string[] | undefined) ?? []).map((m) => m.replace(/\/?$/, '/')).sort().join(',');
    const clock = realClock;
    const deadline = clock.now() + 5000;
    while (clock.now() < deadline) {
      const info = await daemon.info().catch(() => undefined);
      if (info && info.registryMirrors.map((m) => m.replace(/\/?$/, '/')).sort().join(',') === want) return;
      await clock.sleep(100);
    }
    throw new Error('the daemon did not report the restored registry mirrors within 5 s of the reload');
  };
}
