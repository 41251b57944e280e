// dind mode, attach: the daemon started earlier in this job, reached through its socket or its TLS port, with the
// health checks main runs while it waits (its container gone, restarted or exited).
import { join } from 'node:path';
import { type DaemonEndpoint, loadEndpoint, saveEndpoint } from '../endpoint/endpoint.js';
import { type ContainerState, EngineClient } from '../engine/client.js';
import { rootlessRemedy } from './rootless.js';
import type { DaemonInputs as Inputs } from './settings.js';
import type { Platform, Recorder } from '../platform/platform.js';
import { objectName } from '../session/session.js';
import type { DindState, JobDaemon } from './daemon.js';
import { forwarderFollowing, startPortForwarding } from '../background/forwarder.js';
import { helperGuard } from '../background/isolation.js';
import { TLS_PORT, TLS_PORT_NUMBER } from './dind-plan.js';
import { DAEMON_SOCKET, JOB_SOCKET } from '../background/run-gate.js';

/** The daemon started earlier in this job: its endpoint (recorded in state for post), outputs and health checks. */
export async function attachDind(inputs: Inputs, state: Recorder<DindState>, s: DindState, platform: Platform): Promise<JobDaemon> {
  if (!s.outer || !s.containerId || !s.jobDir) throw new Error('the dind container was not started');
  const engine = new EngineClient(loadEndpoint(s.outer));
  const id = s.containerId;
  let endpoint: DaemonEndpoint = { address: { kind: 'unix', path: join(s.jobDir, JOB_SOCKET) } };
  // Gated: the action itself talks to dockerd's own socket; the job's waits for the run check.
  const internal: DaemonEndpoint | undefined = s.gated ? { address: { kind: 'unix', path: join(s.jobDir, DAEMON_SOCKET) } } : undefined;
  const outputs: Record<string, string> = { 'container-id': id };
  if (inputs.dind.tcp) {
    const certPath = join(s.jobDir, 'tls', 'client');
    if (s.containerJob && s.network) {
      // The job container reaches the daemon by name on the job's network (the server certificate names it).
      endpoint = { address: { kind: 'tcp', host: objectName(s.session), port: TLS_PORT_NUMBER }, tlsCertPath: certPath };
    } else {
      const c = s.placement?.tlsHostPort ? undefined : await engine.inspectContainer(id);
      const port = s.placement?.tlsHostPort ?? placementOf(c, s.network?.name).tlsHostPort;
      // A container that died before its port was read (a rootless image whose rootlesskit fails at once): why.
      if (!port) throw new Error(`the dind daemon will not become ready: ${(await whyNotRunning(engine, id, inputs)) ?? `its container ${id.slice(0, 12)} has no published TLS port (state: ${c?.status})`}`);
      endpoint = { address: { kind: 'tcp', host: '127.0.0.1', port: Number(port) }, tlsCertPath: certPath };
    }
    outputs['cert-path'] = certPath;
  }
  state.update({ endpoint: saveEndpoint(endpoint) });
  const { address } = s.placement ?? placementOf(await engine.inspectContainer(id), s.network?.name);
  if (address) outputs['daemon-address'] = address;
  return {
    endpoint,
    ...(internal ? { internal } : {}),
    outputs,
    facts: { Image: inputs.dind.image, Privileges: s.privilegeGrant ?? s.privilege ?? '', ...(address ? { 'Daemon address': address } : {}) },
    afterReady: inputs.integration.forwardPorts && address
      ? () => (s.forwarder?.ready
        ? forwarderFollowing({ ...s.forwarder, ready: s.forwarder.ready }, platform.log, platform.env, address, undefined, gatedBy(s, s.forwarder.pid))
        : startPortForwarding({ endpoint, target: address, jobDir: s.jobDir!, state, guard: helperGuard(state.value), log: platform.log, env: platform.env }))
      : undefined,
    giveUp: () => whyNotRunning(engine, id, inputs),
    logTail: (lines) => engine.containerLogs(id, lines),
  };
}

/** Why the daemon's container cannot bring the daemon up any more (gone, restarted, exited), or undefined. */
async function whyNotRunning(engine: EngineClient, id: string, inputs: Inputs): Promise<string | undefined> {
  const c = await engine.inspectContainer(id);
  if (!c) return 'its container was removed';
  if (c.restartCount > 0) return `its container restarted ${c.restartCount} time(s)`;
  if (c.running) return undefined;
  const remedy = inputs.dind.rootless ? rootlessRemedy(await engine.containerLogs(id, 30).catch(() => '')) : undefined;
  return `its container exited with code ${c.exitCode}${c.error ? ` (${c.error})` : ''}${remedy ? `: ${remedy}` : ''}`;
}

/** Where a started container is: its IP address (on `network` when given, else its first) and its published TLS port. */
export function placementOf(c: ContainerState | undefined, network: string | undefined): NonNullable<DindState['placement']> {
  return {
    address: c ? ((network ? c.addresses[network] : undefined) ?? Object.values(c.addresses)[0]) : undefined,
    tlsHostPort: c?.ports[TLS_PORT]?.find((b) => b.hostPort)?.hostPort,
  };
}

/** The job's socket is gated by this helper process (the port forwarder that runs the check too). */
const gatedBy = (s: DindState, pid: number) => s.gated === true && s.runCheck?.pid === pid;
