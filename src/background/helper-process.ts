// leaf: the background processes this action leaves running during a job (the port forwarder, pre's run check): the
// flags that start the phase's own bundle as one of them, and whether a recorded pid is still one of them.
import { readFileSync } from 'node:fs';

export const FORWARDER_FLAG = '--setup-dind-forwarder';
export const RUN_CHECK_FLAG = '--setup-dind-run-check';

/** Running (a zombie whose parent does not reap it, as under a job container's `tail -f`, counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** `pid` is alive and still runs our bundle with one of `flags` (not a reused pid of something else). */
export function runsOurHelper(pid: number, flags: readonly string[]): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => flags.includes(arg));
  } catch {
    return false;
  }
}
