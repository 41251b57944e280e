// Everything a later phase needs, saved the moment it exists: a post after a crash or a cancelled main still
// finds what pre created. One JSON record under one key; every update rewrites it whole (the last write wins).
import type { SavedEndpoint } from './endpoint/endpoint.js';
import type { CacheRecord } from './cache/cache.js';
import type { DindImageRecord } from './cache/dind-image.js';
import type { Mode } from './inputs/inputs.js';
import type { HostChanges } from './registry/host.js';
import type { ContextRecord } from './dockercli/context.js';
import type { StateStore } from './platform/platform.js';

/** dind: the port forwarder process (background/forwarder.ts), stopped by post. */
export interface ForwarderRecord {
  pid: number;
  log: string;
  /** The bundle the forwarder runs. */
  script: string;
  /** Started by pre: the file it creates once it follows the daemon. */
  ready?: string;
}

/** dind: the run check pre leaves running (background/run-check.ts): its verdict goes to `result`. */
export interface RunCheckRecord {
  pid: number;
  result: string;
}

/** client: the directory with the dind image's docker CLI (on PATH), and the plugin directory added to config.json. */
export interface ClientRecord {
  dir: string;
  config?: { configDir: string; pluginDir: string; fileExisted: boolean; dirExisted: boolean };
}

export type PrivilegeStrategy = 'privileged' | 'explicit-capabilities' | 'minimal-capabilities' | 'runtime';

export interface SessionState {
  session: string;
  mode: Mode;
  /** The engine that runs the dind container; post talks to this one, never to DOCKER_HOST. */
  outer?: SavedEndpoint;
  /** A directory of ours (socket, certificates); removed by post. */
  jobDir?: string;
  /** The per-job directory as the outer engine's host sees it (a container job translates it). */
  hostJobDir?: string;
  containerId?: string;
  containerName?: string;
  volume?: string;
  network?: { name: string; created: boolean };
  privilege?: PrivilegeStrategy;
  /** What the daemon's container was granted, in words (the warning and the job summary say exactly this). */
  privilegeGrant?: string;
  /** Epoch ms when the daemon was asked to start (for boot-time figures). */
  startRequestedAt?: number;
  /** The daemon the job uses. */
  endpoint?: SavedEndpoint;
  ready?: boolean;
  /** The image cache: keys, what was restored, and the image ids to compare against in post. */
  cache?: CacheRecord;
  /** The action runs inside a container on the engine (a container job): DOCKER_HOST is not exported. */
  containerJob?: string;
  /** The docker context installed for a container job, to remove in post. */
  dockerContext?: ContextRecord;
  /** socket mode: what the action changed on the runner's own daemon, to restore in post. */
  hostChanges?: HostChanges;
  /** dind: the process that forwards published ports to 127.0.0.1; stopped by post. */
  forwarder?: ForwarderRecord;
  /** dind: the run check started in pre, read by main, stopped by post if it still runs. */
  runCheck?: RunCheckRecord;
  /** dind: where the started container is, read once in pre: its address and its published TLS port (tcp: true). */
  placement?: { address?: string; tlsHostPort?: string };
  /** Digests of the inputs pre started with, compared by main (daemon/drift.ts). */
  startedWith?: Record<string, string>;
  /** buildx: the builder main created (or asked buildx to create), to remove in post. */
  builder?: string;
  /** dind with cache: the image pre pulled, which post saves into its cache entry. */
  dindImage?: DindImageRecord;
  /** client: the image's docker CLI for the job's steps, removed in post. */
  client?: ClientRecord;
  cleanedUp?: boolean;
}

const KEY = 'setup-dind';

export class StateRecorder {
  private current: SessionState | undefined;

  constructor(private readonly store: StateStore) {
    const text = store.get(KEY);
    if (text) {
      try {
        this.current = JSON.parse(text) as SessionState;
      } catch {
        throw new Error(`the saved state of an earlier phase is not valid JSON (${text.slice(0, 80)}); was the action's state edited?`);
      }
    }
  }

  get value(): SessionState | undefined {
    return this.current;
  }

  /** Starts a new record (pre, or main when pre did not run). */
  begin(initial: SessionState): SessionState {
    this.current = { ...initial };
    this.store.set(KEY, JSON.stringify(this.current));
    return this.current;
  }

  update(patch: Partial<SessionState>): SessionState {
    if (!this.current) throw new Error('state.update before state.begin');
    this.current = { ...this.current, ...patch };
    this.store.set(KEY, JSON.stringify(this.current));
    return this.current;
  }
}
