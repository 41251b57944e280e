// One id per job: it names and labels every object the action creates, so cleanup removes exactly those, and
// jobs that share an engine (matrix jobs on a self-hosted runner) never collide or see each other.
import { randomBytes } from 'node:crypto';
import type { JobContext } from '../platform/platform.js';

export const LABEL_SESSION = 'io.github.setup-dind.session';
export const LABEL_CREATED = 'io.github.setup-dind.created';
export const LABEL_JOB = 'io.github.setup-dind.job';
/**
 * The image the run probe loads into the job's daemon and removes again (background/run-probe.ts). It may exist for a
 * moment while the image cache lists the daemon's images, so the cache never counts it (cache/cache.ts).
 */
export const PROBE_IMAGE = 'setup-dind-probe:scratch';

const slug = (text: string, max: number): string =>
  text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, max) || 'x';

/** run id, attempt, job name and a random part: readable in `docker ps`, unique even for matrix legs of one job. */
export function newSessionId(job: JobContext, random: () => string = () => randomBytes(4).toString('hex')): string {
  return `${slug(job.runId, 20)}-${slug(job.runAttempt, 4)}-${slug(job.job, 24)}-${random()}`;
}

export function sessionLabels(session: string, job: JobContext, now = new Date()): Record<string, string> {
  return {
    [LABEL_SESSION]: session,
    [LABEL_CREATED]: now.toISOString(),
    [LABEL_JOB]: `${job.runId}/${job.runAttempt}/${job.job}`,
  };
}

/** The name of every object of a session: `setup-dind-<session>`. */
export const objectName = (session: string): string => `setup-dind-${session}`;
