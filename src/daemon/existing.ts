// socket and external modes: the daemon is not ours. The action finds it, waits for it and exports it; it creates
// nothing, so post has nothing of ours to remove and touches nothing anyone else made.
import { type DaemonEndpoint, type EngineLocation, TlsFilesMissingError, checkedEndpoint, formatAddress, saveEndpoint } from '../endpoint/endpoint.js';
import type { DaemonInputs as Inputs } from './settings.js';
import { type Clock, realClock } from '../engine/readiness.js';
import type { Recorder } from '../platform/platform.js';
import type { SavedEndpoint } from '../endpoint/endpoint.js';
import type { DaemonMode, JobDaemon } from './daemon.js';

/**
 * The endpoint, waiting (within wait-timeout) for TLS files that are not there yet: a docker:dind service writes its
 * client certificates only once it has started, so the job may look for them before they exist.
 */
async function endpointWhenTlsFilesExist(engine: EngineLocation, waitTimeoutMs: number, clock: Clock): Promise<DaemonEndpoint> {
  const deadline = clock.now() + waitTimeoutMs;
  for (;;) {
    try {
      return checkedEndpoint(engine);
    } catch (e) {
      if (!(e instanceof TlsFilesMissingError)) throw e;
      if (clock.now() >= deadline) throw new Error(`${e.message} (waited ${(waitTimeoutMs / 1000).toFixed(1)} s for them to appear)`);
      await clock.sleep(200);
    }
  }
}

/**
 * `locate` gives the engine the phase located (socket: the runner's own daemon, found like the docker CLI finds it;
 * external: docker-host, which inputs.ts makes sure is given).
 */
export function existingDaemon(inputs: Inputs, locate: () => EngineLocation, state: Recorder<{ endpoint?: SavedEndpoint }>, clock: Clock = realClock): DaemonMode {
  return {
    async start() {
      const engine = locate();
      try {
        state.update({ endpoint: saveEndpoint(checkedEndpoint(engine)) });
      } catch (e) {
        if (!(e instanceof TlsFilesMissingError)) throw e;
        // TLS files may appear later (see above): the address is what post needs.
        state.update({ endpoint: { host: formatAddress(engine.endpoint.address) } });
      }
    },
    async attach(): Promise<JobDaemon> {
      const endpoint = await endpointWhenTlsFilesExist(locate(), inputs.waitTimeoutMs, clock);
      return { endpoint, outputs: {}, facts: { Daemon: inputs.mode === 'socket' ? "the runner's own daemon" : 'an external daemon' } };
    },
  };
}
