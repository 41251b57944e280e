// What the core needs from the CI system it runs on. GitHub, GitLab/plain shells and tests each implement it,
// so no core module imports @actions/* or knows where it runs.

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** A notice (GitHub: an annotation that is neither warning nor error); where there is none, info. */
  notice?(message: string): void;
}

/** Key/value state that survives from one phase (process) to the next. */
export interface StateStore {
  get(key: string): string;
  set(key: string, value: string): void;
}

/**
 * The job's state recorder (state.ts) as one capability sees it: only its own slice S of the record. A capability
 * declares the fields it records and reads; state.ts composes the slices into the whole record.
 */
export interface Recorder<S> {
  readonly value: S | undefined;
  update(patch: Partial<S>): S;
}

/** Facts about the job that make names unique and say where temporary files go. */
export interface JobContext {
  runId: string;
  runAttempt: string;
  job: string;
  /** The job's name across runs, for cache keys: GITHUB_JOB; GitLab: CI_JOB_NAME without its parallel part. */
  name: string;
  /** What tells the legs of a matrix apart (GitHub: the matrix as JSON; GitLab: "[a, b]" or "2/3"); '' outside one. */
  matrix: string;
  /** The git ref the job runs for: a cache-dir restores and writes entries by it. */
  ref: JobRef;
  /** A directory private to this job that the runner empties afterwards (RUNNER_TEMP on GitHub). */
  tempDir: string;
  workspace: string;
}

/** A git ref and what a cache-dir may restore for it. */
export interface JobRef {
  /** The branch or tag name; '' outside CI. */
  name: string;
  /** A protected branch or tag (GitHub: GITHUB_REF_PROTECTED; GitLab: CI_COMMIT_REF_PROTECTED). */
  protected: boolean;
  /** Refs whose protected entries this ref may restore when it has none: the base or target branch, the default branch. */
  fallbacks: string[];
}

/**
 * A CI system's own cache service, as the platform offers it: it stores the files under paths by key (GitHub's
 * @actions/cache). cache/service.ts turns it into a cache backend; the platform knows nothing of images or tars.
 */
export interface CacheService {
  readonly name: string;
  /** The key restored into `paths` (the exact key, else the newest starting with a restore key), or undefined. */
  restore(paths: string[], primaryKey: string, restoreKeys: string[]): Promise<string | undefined>;
  /** Stores `paths` under `key`; 'exists' when the key is taken (entries are immutable). Never throws for the service's faults. */
  save(paths: string[], key: string): Promise<{ outcome: 'saved' | 'exists' | 'failed'; detail?: string }>;
}

/** One entry of a CI system's cache as its management API lists it. */
export interface CacheListing {
  id: number;
  key: string;
  ref: string;
  /** ISO 8601. */
  createdAt: string;
  sizeBytes: number;
}

/** An answer of a cache management API other than success: `status` is the HTTP status (0: no answer). */
export class CacheApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'CacheApiError';
  }
}

/**
 * The management side of a CI system's cache (GitHub's REST API): list the entries of this job's ref by key
 * prefix, and delete one. Failures throw CacheApiError.
 */
export interface CacheInventory {
  readonly name: string;
  /** The ref whose entries this lists (GITHUB_REF). */
  readonly ref: string;
  /** Entries of `ref` whose key starts with `prefix`, newest first. */
  list(prefix: string): Promise<CacheListing[]>;
  remove(id: number): Promise<void>;
}

export interface Platform {
  readonly name: string;
  readonly log: Logger;
  readonly state: StateStore;
  readonly job: JobContext;
  /** The environment the action was started with (DOCKER_HOST and friends are looked up here). */
  readonly env: Readonly<Record<string, string | undefined>>;
  input(name: string): string;
  setOutput(name: string, value: string): void;
  /** Makes a variable visible to the job's later steps. */
  exportVariable(name: string, value: string): void;
  /** Puts a directory first on PATH for the job's later steps. */
  addPath(dir: string): void;
  mask(secret: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  appendSummary(markdown: string): Promise<void>;
  /** The CI system's own cache service, when it has one the action can use (GitHub's); else undefined. */
  cacheService(): CacheService | undefined;
  /** Listing and deleting entries of that cache service, when the job's token allows it to be tried; else undefined. */
  cacheInventory?(): CacheInventory | undefined;
  /** Marks the step failed with this message (the process still exits normally). */
  fail(message: string): void;
}
