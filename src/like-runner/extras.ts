// What the daemon's container gets so that dind behaves like the runner's engine: mounts at identical paths and
// the environment its init script and dockerd read (MTU, proxies).
import type { Mount } from '../engine/client.js';
import type { Platform, Recorder } from '../platform/platform.js';
import { reserveJobPorts } from '../background/isolation.js';
import { claimsEnvironment } from '../background/port-claims.js';
import type { ReservationRecord } from '../background/port-range.js';
import type { PathTranslator } from './host-paths.js';
import { jobPaths, planJobMounts } from './mounts.js';
import { mtuEnvironment, proxyEnvironment } from './network.js';
import type { IntegrationSettings } from './settings.js';

/** What the extras read of the inputs: their own settings, and the registry mirrors the proxy must not catch. */
export interface ExtrasInputs {
  integration: IntegrationSettings;
  registry: { mirrors: string[]; insecure: string[]; daemonConfig: Record<string, unknown> };
  /** Whether the job's ports get a block of their own and the claims wrapper (not with a rootless image, or the user's own proxy). */
  dind: { rootless: boolean; daemonArgs: string[] };
}

export interface DindExtras {
  mounts: Mount[];
  env: string[];
  /** The job's own block of host ports as the daemon's ephemeral range (isolation.ts). */
  sysctls?: Record<string, string>;
}

/**
 * What the daemon's container gets so that it behaves like the runner's engine: the job's paths (and the job
 * directory, where DOCKER_HOST's socket is) at identical paths, the MTU setting and the job's proxies.
 */
export async function dindExtras(o: { inputs: ExtrasInputs; platform: Platform; jobDir: string; hostJobDir: string; translate: PathTranslator; state?: Recorder<{ session: string; ports?: ReservationRecord }> }): Promise<DindExtras> {
  const { integration } = o.inputs;
  const paths = [
    ...(integration.jobPaths ? jobPaths(o.platform.job, o.platform.env) : []),
    ...integration.mountPaths.map((path) => ({ path, source: 'input mount-paths', explicit: true })),
  ];
  const plan = await planJobMounts({ paths, translate: o.translate });
  if (plan.skipped.length) o.platform.log.info(`setup-dind: not mounted into the daemon's container: ${plan.skipped.join('; ')}.`);
  // The socket at the path DOCKER_HOST names, for containers that mount it (unless a job path carries it already).
  const covered = plan.mounts.some((m) => o.jobDir === m.Target || o.jobDir.startsWith(`${m.Target}/`));
  const mounts = covered ? plan.mounts : [...plan.mounts, { Type: 'bind' as const, Source: o.hostJobDir, Target: o.jobDir }];
  const claims = claimsEnvironment({ forwardPorts: integration.forwardPorts, rootless: o.inputs.dind.rootless, daemonArgs: o.inputs.dind.daemonArgs, daemonConfig: o.inputs.registry.daemonConfig });
  const env = [...mtuEnvironment(integration), ...(integration.proxy ? proxyEnvironment(o.platform.env, o.inputs.registry) : []), ...claims];
  const sysctls = o.state ? reserveJobPorts({ forwardPorts: integration.forwardPorts, rootless: o.inputs.dind.rootless, state: o.state, jobDir: o.jobDir, log: o.platform.log }) : undefined;
  return { mounts, env, ...(sysctls ? { sysctls } : {}) };
}
