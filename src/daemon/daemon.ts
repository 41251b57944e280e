// One interface for the three ways a job gets its daemon. A mode starts what it needs (in pre, or in main when pre
// did not run), then hands main a daemon to wait for.
import type { ForwarderRecord } from '../background/forwarder.js';
import type { RunCheckRecord } from '../background/run-check.js';
import type { ReservationRecord } from '../background/port-range.js';
import type { DindImageRecord } from '../cache/dind-image.js';
import type { DaemonEndpoint, SavedEndpoint } from '../endpoint/endpoint.js';
import type { JobDirState } from '../session/jobdir.js';

export type PrivilegeStrategy = 'privileged' | 'explicit-capabilities' | 'minimal-capabilities' | 'runtime';


/** What the daemon modes record and read in the job's state (state.ts composes it into the whole record). */
export interface DindState extends JobDirState {
  /** The engine that runs the dind container; post talks to this one, never to DOCKER_HOST. */
  outer?: SavedEndpoint;
  /** The per-job directory as the outer engine's host sees it (a container job translates it). */
  hostJobDir?: string;
  containerId?: string;
  containerName?: string;
  volume?: string;
  network?: { name: string; created: boolean };
  privilege?: PrivilegeStrategy;
  /** What the daemon's container was granted, in words (the warning and the job summary say exactly this). */
  privilegeGrant?: string;
  /** dind: dockerd listens on the job directory's daemon.sock, and the job's socket waits for the run check (run-gate.ts). */
  gated?: boolean;
  /** Epoch ms when the daemon was asked to start (for boot-time figures). */
  startRequestedAt?: number;
  /** The daemon the job uses. */
  endpoint?: SavedEndpoint;
  /** The action runs inside a container on the engine (a container job): DOCKER_HOST is not exported. */
  containerJob?: string;
  /** dind: the process that forwards published ports to 127.0.0.1; stopped by post. */
  forwarder?: ForwarderRecord;
  /** dind: the run check started in pre, read by main, stopped by post if it still runs. */
  /** dind: the job's block of host ports (background/port-range.ts), its daemon's ephemeral range; released by post. */
  ports?: ReservationRecord;
  runCheck?: RunCheckRecord;
  /** dind: where the started container is, read once in pre: its address and its published TLS port (tcp: true). */
  placement?: { address?: string; tlsHostPort?: string };
  /** dind with cache: the image pre pulled, which post saves into its cache entry. */
  dindImage?: DindImageRecord;
}

export interface JobDaemon {
  /** Where the job's docker CLI reaches the daemon. */
  endpoint: DaemonEndpoint;
  /** Where the action itself reaches the daemon when that is not `endpoint` (dind: the job's socket is gated). */
  internal?: DaemonEndpoint;
  /** A reason to stop waiting at once (its container exited), checked between readiness probes. */
  giveUp?(): Promise<string | undefined>;
  /** Runs once the daemon answers (dind: the port forwarder starts); returns more variables for the job's steps. */
  afterReady?(): Promise<Record<string, string>>;
  /** The daemon's own log, when the action can read it. */
  logTail?(lines: number): Promise<string>;
  /** Extra outputs of the mode (container-id, cert-path). */
  outputs: Record<string, string>;
  /** Lines for the job summary. */
  facts: Record<string, string>;
}

export interface DaemonMode {
  /** Creates and starts what the mode needs, without waiting for readiness; records everything in state at once. */
  start(): Promise<void>;
  /** The daemon started earlier in this job (possibly by another process). */
  attach(): Promise<JobDaemon>;
}
