// The CLI's state directory holds what `stop` needs and what `env` prints for `eval`: it must be ours alone. A
// directory another local user created (or a symlink they planted) in a shared temporary directory would let them
// read the job's state or make `eval "$(setup-dind env)"` run their commands, so it is refused, never used.
import { lstatSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export class StateDirError extends Error {}

const uid = () => process.getuid?.();

/** $XDG_RUNTIME_DIR when it is a real directory of ours that nobody else can enter; else undefined. */
export function usableRuntimeDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir || !isAbsolute(dir)) return undefined;
  try {
    const info = lstatSync(dir);
    return info.isDirectory() && info.uid === uid() && (info.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Why `dir` may not hold our state, or undefined when it may (or does not exist). */
export function stateDirProblem(dir: string): string | undefined {
  let info;
  try {
    info = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `cannot be inspected (${(e as Error).message})`;
  }
  if (info.isSymbolicLink()) return 'is a symbolic link';
  if (!info.isDirectory()) return 'exists and is not a directory';
  const me = uid();
  if (me !== undefined && info.uid !== me) return `belongs to uid ${info.uid}, not to this user (uid ${me})`;
  if (info.mode & 0o022) return `is writable by ${info.mode & 0o020 ? 'its group' : ''}${(info.mode & 0o022) === 0o022 ? ' and ' : ''}${info.mode & 0o002 ? 'other users' : ''} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')})`;
  return undefined;
}

const refusal = (dir: string, problem: string) =>
  new StateDirError(
    `the state directory ${dir} ${problem}; another user could read or change this job's state through it. ` +
      'Remove it, or give a directory of your own with --state-dir or SETUP_DIND_STATE_DIR',
  );

/** Throws a StateDirError when an existing `dir` is not private to us. */
export function checkStateDir(dir: string): void {
  const problem = stateDirProblem(dir);
  if (problem) throw refusal(dir, problem);
}

/** Creates `dir` (0700) or accepts it when it is ours and private enough; anything else is a StateDirError. */
export function ensureStateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      mkdirSync(join(dir, '..'), { recursive: true, mode: 0o700 });
      return ensureStateDir(dir);
    }
    if (code !== 'EEXIST') throw new StateDirError(`the state directory ${dir} cannot be created (${(e as Error).message}); give another one with --state-dir or SETUP_DIND_STATE_DIR`);
  }
  checkStateDir(dir);
}
