// socket and external modes: the daemon is not ours. The action finds it, waits for it and exports it; it creates
// nothing, so post has nothing of ours to remove and touches nothing anyone else made.
import { type DaemonEndpoint, TlsFilesMissingError, formatAddress, resolveEngine, saveEndpoint } from '../endpoint.js';
import type { Inputs } from '../inputs.js';
import { type Clock, realClock } from '../readiness.js';
import type { StateRecorder } from '../state.js';
import type { DaemonMode, JobDaemon } from './daemon.js';

/**
 * The endpoint, waiting (within wait-timeout) for TLS files that are not there yet: a docker:dind service writes its
 * client certificates only once it has started, so the job may look for them before they exist.
 */
async function endpointWhenTlsFilesExist(inputs: Inputs, env: Readonly<Record<string, string | undefined>>, clock: Clock): Promise<DaemonEndpoint> {
  const deadline = clock.now() + inputs.waitTimeoutMs;
  for (;;) {
    try {
      return resolveEngine(inputs, env);
    } catch (e) {
      if (!(e instanceof TlsFilesMissingError)) throw e;
      if (clock.now() >= deadline) throw new Error(`${e.message} (waited ${(inputs.waitTimeoutMs / 1000).toFixed(1)} s for them to appear)`);
      await clock.sleep(200);
    }
  }
}

export function existingDaemon(inputs: Inputs, env: Readonly<Record<string, string | undefined>>, state: StateRecorder, clock: Clock = realClock): DaemonMode {
  return {
    async start() {
      // socket: the runner's own daemon, found like the docker CLI finds it. external: docker-host is required
      // (inputs.ts makes sure), so the same resolution applies. TLS files may appear later (see above).
      try {
        state.update({ endpoint: saveEndpoint(resolveEngine(inputs, env)) });
      } catch (e) {
        if (!(e instanceof TlsFilesMissingError)) throw e;
        state.update({ endpoint: { host: formatAddress(resolveEngine({ ...inputs, tlsCertPath: undefined }, { ...env, DOCKER_TLS_VERIFY: undefined }).address) } });
      }
    },
    async attach(): Promise<JobDaemon> {
      const endpoint = await endpointWhenTlsFilesExist(inputs, env, clock);
      return { endpoint, outputs: {}, facts: { Daemon: inputs.mode === 'socket' ? "the runner's own daemon" : 'an external daemon' } };
    },
  };
}
