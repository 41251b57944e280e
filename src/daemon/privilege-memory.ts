// privileged: auto on an engine that refuses --privileged pays a refused create/start/remove cycle (0.3-0.5 s) in
// every job. The answer is remembered per engine, for later jobs of the same user on the same host:
// - where: a directory of the user's own (XDG_CACHE_HOME, else ~/.cache), used only when it and the entry are ours
//   and nobody else can write them (another user can neither plant nor change an answer we act on);
// - per engine: the engine's ID (dockerd keeps it in its data root) names the entry, and the entry holds what the
//   engine said about itself (version, kernel, OS, cgroup driver, default runtime): an engine that changed any of
//   them, or a new engine behind the same socket, is asked again;
// - never wrong for long: an answer is used for MEMORY_TTL_MS after it was learnt, then the engine is asked again;
//   and when the plan it chose is refused too, the answer is forgotten at once.
// Only refusals are remembered (an engine that accepts --privileged is tried first anyway). SETUP_DIND_ENGINE_MEMORY=off
// turns it off. Every failure to read or write it is silent: it only saves time, it never decides what is granted
// beyond skipping an attempt the same engine refused.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { DaemonInfo } from '../engine/client.js';

export const MEMORY_TTL_MS = 60 * 60 * 1000;

/** What the engine said about --privileged in an earlier job. */
export interface RememberedRefusal {
  /** The engine's error then. */
  error: string;
  /** Epoch ms when it was learnt. */
  learnedAt: number;
}

/** The memory of one engine, as the dind plan uses it. */
export interface PrivilegeMemory {
  /** The engine's answer from an earlier job, when it still holds. */
  refusal: RememberedRefusal | undefined;
  /** The engine refused --privileged and a later plan started: skip the attempt next time. */
  remember(error: string): void;
  /** The answer is no longer true (the engine accepted --privileged, or refused what the answer chose instead). */
  forget(): void;
}

interface Entry {
  id: string;
  fingerprint: string;
  refusal: RememberedRefusal;
}

/** The directory of the memory, or undefined when it is off or there is no private place for it. */
export function memoryDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.SETUP_DIND_ENGINE_MEMORY === 'off') return undefined;
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME && isAbsolute(env.HOME) ? join(env.HOME, '.cache') : undefined;
  return base ? join(base, 'setup-dind', 'engines') : undefined;
}

const fingerprintOf = (e: DaemonInfo['engine']) => [e.serverVersion, e.kernelVersion, e.operatingSystem, e.cgroupDriver, e.defaultRuntime].join('\n');

/** Ours, not a link, and writable by nobody else. */
function isPrivate(path: string, kind: 'dir' | 'file'): boolean {
  try {
    const st = lstatSync(path);
    const me = process.getuid?.();
    return (kind === 'dir' ? st.isDirectory() : st.isFile()) && (me === undefined || st.uid === me) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function ensurePrivateDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return false;
  }
  return isPrivate(dir, 'dir');
}

/** The memory of the engine that gave `info`, in `dir`; `now` is the clock (epoch ms). */
export function privilegeMemory(dir: string, info: DaemonInfo, now: () => number = Date.now): PrivilegeMemory | undefined {
  const { id } = info.engine;
  if (!id) return undefined;
  const fingerprint = fingerprintOf(info.engine);
  const path = join(dir, `${createHash('sha256').update(id).digest('hex').slice(0, 32)}.json`);
  const read = (): RememberedRefusal | undefined => {
    if (!isPrivate(dir, 'dir') || !isPrivate(path, 'file')) return undefined;
    try {
      const e = JSON.parse(readFileSync(path, 'utf8')) as Entry;
      const age = now() - e.refusal.learnedAt;
      // A future date (a clock set back) is no proof of anything.
      return e.id === id && e.fingerprint === fingerprint && typeof e.refusal.error === 'string' && age >= -60_000 && age < MEMORY_TTL_MS ? e.refusal : undefined;
    } catch {
      return undefined;
    }
  };
  const write = (entry: Entry) => {
    if (!ensurePrivateDir(dir)) return;
    // Whole or not at all: a new file renamed over the old one (several jobs may learn at once; the last one wins).
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, path);
    } catch {
      /* it only saves time */
    }
  };
  const refusal = read();
  return {
    refusal,
    remember: (error) => write({ id, fingerprint, refusal: { error: error.slice(0, 1000), learnedAt: now() } }),
    forget: () => {
      try {
        if (isPrivate(dir, 'dir')) unlinkSync(path);
      } catch {
        /* nothing was remembered */
      }
    },
  };
}

/** How a remembered refusal is named in the warning that says what was granted. */
export const rememberedNote = (r: RememberedRefusal, now: number = Date.now()) =>
  `${r.error}; remembered from a job ${Math.max(0, Math.round((now - r.learnedAt) / 60_000))} min ago on this engine, asked again after ${Math.round(MEMORY_TTL_MS / 60_000)} min`;
