// The per-job directory: the socket, certificates, daemon.json and buildkitd.toml live here, private to the runner's
// user (0700), recorded in state before anything is written into it, and removed by post.
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext, Recorder } from '../platform/platform.js';
import { objectName } from './session.js';

/** What the job directory records in the job's state (state.ts composes it into the whole record). */
export interface JobDirState {
  session: string;
  /** A directory of ours (socket, certificates); removed by post. */
  jobDir?: string;
}

export async function ensureJobDir(job: JobContext, state: Recorder<JobDirState>): Promise<string> {
  const current = state.value;
  if (!current) throw new Error('ensureJobDir before the session state exists');
  if (current.jobDir) return current.jobDir;
  const dir = join(job.tempDir, objectName(current.session));
  state.update({ jobDir: dir });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}
