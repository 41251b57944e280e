// Everything a later phase needs, saved the moment it exists: a post after a crash or a cancelled main still
// finds what pre created. One JSON record under one key; every update rewrites it whole (the last write wins).
import type { CacheRecord } from './cache/cache.js';
import type { CacheState } from './cache/apply.js';
import type { Mode } from './daemon/settings.js';
import type { DindState } from './daemon/daemon.js';
import type { BuilderState } from './builder/apply.js';
import type { ClientState } from './dockercli/apply.js';
import type { RegistryState } from './registry/apply.js';
import type { JobDirState } from './session/jobdir.js';
import type { ContextRecord } from './dockercli/context.js';
import type { StateStore } from './platform/platform.js';

/**
 * The whole record: the fields of the session itself, composed with the slice each capability records (a capability
 * sees only its own slice, through platform.ts' Recorder).
 */
export interface SessionState extends DindState, JobDirState, CacheState, BuilderState, ClientState, RegistryState {
  session: string;
  mode: Mode;
  ready?: boolean;
  /** The image cache: keys, what was restored, and the image ids to compare against in post. */
  cache?: CacheRecord;
  /** The docker context installed for a container job, to remove in post. */
  dockerContext?: ContextRecord;
  /** Digests of the inputs pre started with, compared by main (inputs/guards.ts). */
  startedWith?: Record<string, string>;
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
