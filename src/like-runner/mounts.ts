// The job's paths inside the daemon's container at the same paths: a bind mount the job asks the inner daemon for
// (`-v "$GITHUB_WORKSPACE:/src"`, compose's `./data:/data`) is resolved in the daemon's container, so the same path
// must hold the same files there. In a container job the paths the job sees are translated to the engine host's.
import { stat } from 'node:fs/promises';
import type { Mount } from '../engine/client.js';
import type { JobContext, Logger } from '../platform/platform.js';
import type { PathTranslator } from './host-paths.js';
import { normalize, unmountableReason } from './settings.js';

export interface JobPath {
  path: string;
  /** Where it comes from, for messages: "GITHUB_WORKSPACE", "input mount-paths". */
  source: string;
  /** Given by the user: a problem is an error, not a note. */
  explicit: boolean;
}

/** The job's own paths on this CI system, in a fixed order. */
export function jobPaths(job: JobContext, env: Readonly<Record<string, string | undefined>>): JobPath[] {
  const found: JobPath[] = [];
  const add = (path: string | undefined, source: string) => {
    if (path?.startsWith('/')) found.push({ path: normalize(path), source, explicit: false });
  };
  if (env.GITHUB_ACTIONS === 'true' || env.GITHUB_WORKSPACE) {
    add(env.GITHUB_WORKSPACE ?? job.workspace, 'GITHUB_WORKSPACE');
    add(env.RUNNER_TEMP ?? job.tempDir, 'RUNNER_TEMP');
    add(env.RUNNER_TOOL_CACHE, 'RUNNER_TOOL_CACHE');
  }
  if (env.GITLAB_CI === 'true' || env.CI_PROJECT_DIR) {
    add(env.CI_BUILDS_DIR, 'CI_BUILDS_DIR');
    add(env.CI_PROJECT_DIR ?? job.workspace, 'CI_PROJECT_DIR');
  }
  return found;
}

/** Drops duplicates and paths inside another one (the outer mount already carries them). */
export function outermost(paths: JobPath[]): JobPath[] {
  const kept: JobPath[] = [];
  for (const p of [...paths].sort((a, b) => a.path.length - b.path.length)) {
    if (kept.some((k) => p.path === k.path || p.path.startsWith(`${k.path}/`))) continue;
    kept.push(p);
  }
  return paths.filter((p) => kept.includes(p));
}

export interface MountPlan {
  mounts: Mount[];
  /** Paths left out, with the reason (said once in the log). */
  skipped: string[];
}

/**
 * Bind mounts at identical paths for the job's paths (when asked) and the extra ones. A job path that cannot be
 * mounted (missing, a system directory, not on a mount of the job container) is skipped with a note; an explicit
 * one is an error that names the input.
 */
export async function planJobMounts(options: {
  paths: JobPath[];
  translate: PathTranslator;
  exists?: (path: string) => Promise<boolean>;
}): Promise<MountPlan> {
  const exists = options.exists ?? (async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false);
  const skipped: string[] = [];
  const mounts: Mount[] = [];
  const problems: string[] = [];
  for (const p of outermost(options.paths)) {
    const skip = (why: string, remedy: string) => {
      if (p.explicit) problems.push(`input "mount-paths": ${p.path} ${why}; ${remedy}`);
      else skipped.push(`${p.path} (${p.source}): ${why}`);
    };
    const reason = unmountableReason(p.path);
    if (reason) {
      skip(`cannot be mounted: ${reason}`, 'mount a directory below it instead');
      continue;
    }
    if (!(await exists(p.path))) {
      skip('is not a directory that exists', 'create it before this step, or remove it');
      continue;
    }
    let source: string;
    try {
      source = options.translate(p.path);
    } catch {
      skip(`is not on a volume or bind mount of the job container ${options.translate.container?.name ?? ''}`.trimEnd(), 'use a path the job container mounts');
      continue;
    }
    mounts.push({ Type: 'bind', Source: source, Target: p.path });
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return { mounts, skipped };
}
