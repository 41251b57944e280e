// buildx: true. A docker-container builder on the job's daemon that already has the job's registry mirrors and
// CA certificates (the buildkitd.toml of registry/buildkit.ts), exported as BUILDX_BUILDER, so that
// `docker buildx build` goes through the mirror with no further step. Its BuildKit image is made present on the
// job's daemon through the engine client first (pulled through the daemon's own mirrors and certificates, so no
// anonymous Docker Hub pull from the builder); the builder itself is created and removed by the docker CLI's buildx
// plugin, as docker/setup-buildx-action does: buildx keeps its builders in its own store on the runner, which no
// engine API call can fill. Without the image, or without the plugin, main fails with what to do.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type DaemonEndpoint, clientEnvironment } from '../endpoint/endpoint.js';
import type { EngineClient } from '../engine/client.js';
import type { BuilderSettings } from './settings.js';

const run = promisify(execFile);

export class BuilderError extends Error {}

/** The builder's name: one per job session (buildx names allow letters, digits, '-' and '_'). */
export const builderName = (session: string) => `setup-dind-${session.replace(/[^a-zA-Z0-9_-]+/g, '-')}`.slice(0, 63);

/** `docker buildx create` for the job's builder. */
export function createArgs(name: string, settings: BuilderSettings, buildkitdConfig: string): string[] {
  return [
    'buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', `image=${settings.image}`,
    ...(buildkitdConfig ? ['--buildkitd-config', buildkitdConfig] : []),
    '--bootstrap',
  ];
}

/** The environment that points the docker CLI at the job's daemon. */
export function cliEnvironment(base: Readonly<Record<string, string | undefined>>, endpoint: DaemonEndpoint): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('DOCKER_')) env[k] = v;
  if (base.DOCKER_CONFIG) env.DOCKER_CONFIG = base.DOCKER_CONFIG;
  return { ...env, ...clientEnvironment(endpoint) };
}

/** The builder image on the job's daemon: present, or pulled through its mirrors; else a BuilderError that says what to do. */
export async function ensureBuilderImage(daemon: EngineClient, settings: BuilderSettings): Promise<'present' | 'pulled'> {
  try {
    if (await daemon.imageExists(settings.image)) return 'present';
    await daemon.pullImage(settings.image);
    return 'pulled';
  } catch (e) {
    throw new BuilderError(
      `buildx: the builder image ${settings.image} could not be had on the job's daemon (${(e as Error).message}). ` +
        'The docker-container builder runs BuildKit from that image: let the daemon pull it (registry-mirrors with a mirror ' +
        'that has it, or a registry it reaches with registry-certs), or set buildx-image to an image you provide; or remove ' +
        "buildx (DOCKER_BUILDKIT=1 docker build uses the daemon's own BuildKit, with the same mirrors and certificates).",
    );
  }
}

const firstLines = (e: unknown) => {
  const err = e as { stderr?: string; message: string };
  return (err.stderr || err.message).trim().split('\n').filter((l) => l.trim()).slice(0, 2).join(' ');
};

/** Creates the builder with the buildx plugin; no docker CLI, no plugin or a failed create is a BuilderError. */
export async function createBuilder(name: string, settings: BuilderSettings, buildkitdConfig: string, env: Record<string, string>): Promise<void> {
  try {
    await run('docker', ['buildx', 'version'], { env, timeout: 30_000 });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new BuilderError('buildx: there is no docker CLI on this runner; buildx needs it with its buildx plugin (docker/setup-buildx-action installs one), or remove buildx');
    throw new BuilderError(`buildx: the docker CLI has no buildx plugin (docker buildx version: ${firstLines(e)}); install it (docker/setup-buildx-action does) or remove buildx`);
  }
  try {
    await run('docker', [...createArgs(name, settings, buildkitdConfig)], { env, timeout: 180_000 });
  } catch (e) {
    throw new BuilderError(`buildx: docker buildx create failed (${firstLines(e)})`);
  }
}

/** post: removes the builder (its container, and its entry in buildx's store); never throws. */
export async function removeBuilder(name: string, env: Record<string, string>): Promise<string | undefined> {
  try {
    await run('docker', ['buildx', 'rm', name], { env, timeout: 60_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return (err.stderr || err.message).trim().split('\n').at(-1);
  }
}
