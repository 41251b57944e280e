// socket and external modes: the daemon is not ours. The action finds it, waits for it and exports it; it creates
// nothing, so post has nothing of ours to remove and touches nothing anyone else made.
import { resolveEngine, saveEndpoint } from '../endpoint.js';
import type { Inputs } from '../inputs.js';
import type { StateRecorder } from '../state.js';
import type { DaemonMode, JobDaemon } from './daemon.js';

export function existingDaemon(inputs: Inputs, env: Readonly<Record<string, string | undefined>>, state: StateRecorder): DaemonMode {
  return {
    async start() {
      // socket: the runner's own daemon, found like the docker CLI finds it. external: docker-host is required
      // (inputs.ts makes sure), so the same resolution applies.
      state.update({ endpoint: saveEndpoint(resolveEngine(inputs, env)) });
    },
    async attach(): Promise<JobDaemon> {
      const endpoint = resolveEngine(inputs, env);
      return { endpoint, outputs: {}, facts: { Daemon: inputs.mode === 'socket' ? "the runner's own daemon" : 'an external daemon' } };
    },
  };
}
