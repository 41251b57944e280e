// buildx through the phases: main makes the builder image present and creates the builder (recorded in state the
// moment it is asked for), post removes it while the daemon still runs.
import { type DaemonEndpoint, type SavedEndpoint, loadEndpoint } from '../endpoint/endpoint.js';
import type { EngineClient } from '../engine/client.js';
import type { Platform, Recorder } from '../platform/platform.js';
import { builderName, cliEnvironment, createBuilder, ensureBuilderImage, removeBuilder } from './buildx.js';
import type { BuilderSettings } from './settings.js';

/** What the builder records and reads in the job's state (state.ts composes it into the whole record). */
export interface BuilderState {
  session: string;
  /** buildx: the builder main created (or asked buildx to create), to remove in post. */
  builder?: string;
  endpoint?: SavedEndpoint;
}

export interface BuilderResult {
  outputs: Record<string, string>;
  facts: Record<string, string>;
}

/** main: the builder, or nothing when buildx is false. A BuilderError fails the step. */
export async function applyBuilder(
  settings: BuilderSettings | undefined,
  platform: Platform,
  state: Recorder<BuilderState>,
  daemon: EngineClient,
  endpoint: DaemonEndpoint,
  buildkitdConfig: string,
): Promise<BuilderResult> {
  if (!settings) return { outputs: { 'buildx-builder': '' }, facts: {} };
  const image = await ensureBuilderImage(daemon, settings);
  const name = builderName(state.value!.session);
  state.update({ builder: name });
  await createBuilder(name, settings, buildkitdConfig, cliEnvironment(platform.env, endpoint));
  platform.exportVariable('BUILDX_BUILDER', name);
  platform.log.info(`setup-dind: buildx builder ${name} (docker-container, ${settings.image} ${image}) is ready; BUILDX_BUILDER=${name}.`);
  return { outputs: { 'buildx-builder': name }, facts: { 'buildx builder': `${name} (${settings.image}${buildkitdConfig ? ', the registry settings in its buildkitd.toml' : ''})` } };
}

/** post: removes the builder the state names; a failure is a note (the daemon's removal takes its container too). */
export async function undoBuilder(s: BuilderState, platform: Platform): Promise<void> {
  if (!s.builder || !s.endpoint) return;
  const problem = await removeBuilder(s.builder, cliEnvironment(platform.env, loadEndpoint(s.endpoint)));
  if (problem) platform.log.info(`setup-dind: docker buildx rm ${s.builder}: ${problem}`);
  else platform.log.info(`setup-dind: removed the buildx builder ${s.builder}.`);
}
