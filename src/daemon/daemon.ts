// One interface for the three ways a job gets its daemon. A mode starts what it needs (in pre, or in main when pre
// did not run), then hands main a daemon to wait for.
import type { DaemonEndpoint } from '../endpoint/endpoint.js';

export interface JobDaemon {
  /** Where the job's docker CLI reaches the daemon. */
  endpoint: DaemonEndpoint;
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
