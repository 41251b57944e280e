// data-root snapshots that keep what overlay layers need: extended attributes (trusted.overlay.opaque marks a
// directory a later layer replaced), whiteout devices, owners by number. The engine's archive API keeps none of the
// trusted.* attributes, so the tar is made by GNU tar (the runner's own, from the job directory: gnu-tar.ts; else the
// image's) in a short-lived container of the dind image that mounts the daemon's volume, and unpacked by the daemon's own container before dockerd starts (seedScript in its init script;
// a helper container where that cannot be: another runtime, a remote engine). It streams through a FIFO in the
// per-job directory, which those containers mount.
// Runtime state never enters a snapshot: containers (with their restart policies), networks, containerd's task
// state, volumes and temporary files are left out, and the daemon is pruned before it stops.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { link, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { ContainerSpec, EngineClient } from '../engine/client.js';
import { type RunnerTar, TAR_ENV, runnerTar } from './gnu-tar.js';
import type { FifoTar, TarSource } from './tar.js';

const run = promisify(execFile);

/** Where the helper sees the daemon's volume and the per-job directory. */
const DATA = '/var/lib/docker';
const JOB = '/run/setup-dind';

/**
 * Paths under the data root a snapshot leaves out: runtime state, and volumes (data of the job, not of the cache).
 * The engine's ID (./engine-id) stays in: on the classic image store BuildKit's worker is named after it and its
 * cache records name the worker, so a daemon with a new ID ran every cached step again (measured on Docker 28.5).
 */
export const SNAPSHOT_EXCLUDES = [
  './containers', './network', './runtimes', './tmp', './volumes', './swarm', './image/*/layerdb/mounts',
  './containerd/daemon/io.containerd.runtime.v2.task', './containerd/daemon/io.containerd.sandbox.controller.v1.shim',
];

/** What a save leaves out: with cache-volumes the daemon's volumes stay in (named ones: anonymous volumes go with their containers). */
export const snapshotExcludes = (volumes = false): string[] => (volumes ? SNAPSHOT_EXCLUDES.filter((x) => x !== './volumes') : SNAPSHOT_EXCLUDES);

/** Exit code of the helper when neither the runner's tar nor the image's is GNU tar (busybox tar drops extended attributes). */
export const NO_GNU_TAR = 90;
const NO_GNU_TAR_MESSAGE = 'this image has no GNU tar (busybox tar drops the overlay metadata a snapshot needs)';

/** The one message for exit 90: why the runner's GNU tar could not be used, and the remedy. */
export function noGnuTar(tar: RunnerTar): string {
  const why = 'problem' in tar ? tar.problem : "the runner's GNU tar did not run in the container";
  return `${NO_GNU_TAR_MESSAGE}, and ${why}; install GNU tar on the runner (apt-get install tar) or use a dind image that has it (apk add tar)`;
}

// Shell pieces both scripts use (the helper's, and the daemon's init when it unpacks itself). sdtar: the runner's
// GNU tar (SETUP_DIND_TAR, its words without spaces), else the image's tar when it is GNU tar, else empty.
const PICK_TAR = `sdtar=\${${TAR_ENV}:-}
[ -n "$sdtar" ] || ! tar --version 2>/dev/null | grep -q 'GNU tar' || sdtar=tar`;
const NO_GNU_TAR_SAY = `echo "setup-dind: ${NO_GNU_TAR_MESSAGE}" >&2`;
/** Exits 91 when `fifo` (a shell word) is not a FIFO here: the engine's host sees another file system. */
const fifoOr91 = (fifo: string) => `[ -p "${fifo}" ] || { echo "setup-dind: ${fifo} is not the FIFO the runner made (is the engine on another machine?)" >&2; exit 91; }`;
const EXTRACT = "$sdtar --extract --read-full-records --xattrs --xattrs-include='*' --numeric-owner --same-owner --preserve-permissions";

/**
 * The helper's script: `save` writes the data root into the FIFO, `restore` unpacks the FIFO into it. A fixed text:
 * the FIFO's path and the excludes arrive as arguments.
 */
export const SNAPSHOT_SCRIPT = `set -e
mode=$1 fifo=$2; shift 2
${PICK_TAR}
[ -n "$sdtar" ] || { ${NO_GNU_TAR_SAY}; exit ${NO_GNU_TAR}; }
${fifoOr91('$fifo')}
cd ${DATA}
if [ "$mode" = save ]; then
  for x in "$@"; do set -- "$@" "--exclude=$x"; shift; done
  exec $sdtar --create --file="$fifo" --xattrs --xattrs-include='*' --numeric-owner --sparse --anchored "$@" .
fi
exec ${EXTRACT} --file="$fifo"`;

export interface SnapshotPlace {
  /** The engine that runs the dind container (the outer engine). */
  engine: EngineClient;
  /** The dind image: it has a shell; GNU tar is checked. */
  image: string;
  /** The daemon's data-root volume. */
  volume: string;
  /** The per-job directory here, and as the engine's host sees it. */
  jobDir: string;
  hostJobDir: string;
  /** Labels of the session: post removes a helper that a crash left behind. */
  labels: Record<string, string>;
  /** cache-volumes: the daemon's volumes go into the snapshot. */
  volumes?: boolean;
  /** Where the snapshot's GNU tar comes from (tests); default: the runner's, copied into the job directory. */
  tar?: (jobDir: string, mountedAt: string) => Promise<RunnerTar>;
}

/** The environment that hands the runner's GNU tar to the scripts (none when the runner has none). */
const tarEnv = (tar: RunnerTar | undefined): string[] => (tar && 'command' in tar ? [`${TAR_ENV}=${tar.command}`] : []);

export function helperSpec(place: SnapshotPlace, mode: 'save' | 'restore', fifoName: string, tar?: RunnerTar): ContainerSpec {
  return {
    name: `${place.volume}-${mode}-${randomBytes(3).toString('hex')}`,
    Image: place.image,
    Env: tarEnv(tar),
    Entrypoint: ['sh', '-c', SNAPSHOT_SCRIPT, 'setup-dind-snapshot'],
    Cmd: [mode, `${JOB}/${fifoName}`, ...(mode === 'save' ? snapshotExcludes(place.volumes) : [])],
    Labels: place.labels,
    HostConfig: {
      // Reading and writing trusted.* attributes needs CAP_SYS_ADMIN; nothing else beyond Docker's defaults.
      CapAdd: ['SYS_ADMIN'],
      NetworkMode: 'none',
      Mounts: [
        { Type: 'volume', Source: place.volume, Target: DATA, ...(mode === 'save' ? { ReadOnly: true } : {}) },
        { Type: 'bind', Source: place.hostJobDir, Target: JOB },
      ],
    },
  };
}

export class SnapshotError extends Error {}

/** A FIFO `<stem>.fifo` in the job directory, the runner's alone. */
async function makeFifo(jobDir: string, stem = `snapshot-${randomBytes(4).toString('hex')}`): Promise<{ name: string; path: string }> {
  const name = `${stem}.fifo`;
  const path = join(jobDir, name);
  await run('mkfifo', ['-m', '600', path]);
  return { name, path };
}

/** Opens and closes the other end, so an open still waiting for a helper that died returns (and fails). */
async function unblock(path: string, flags: number): Promise<void> {
  const handle = await open(path, flags | constants.O_NONBLOCK).catch(() => undefined);
  await handle?.close();
}

/** Runs the helper to its end; a SnapshotError with its output when it fails. */
async function runHelper(place: SnapshotPlace, spec: ContainerSpec, tar: RunnerTar, onExit: () => Promise<void>): Promise<void> {
  const { engine } = place;
  const id = await engine.createContainer(spec);
  try {
    await engine.startContainer(id);
    const code = await engine.waitContainer(id);
    await onExit();
    if (code !== 0) {
      const output = code === NO_GNU_TAR ? noGnuTar(tar) : (await engine.containerLogs(id, 20).catch(() => '')).trim();
      throw new SnapshotError(`${spec.Cmd![0]} of the data root failed (exit ${code})${output ? `: ${output}` : ''}`);
    }
  } finally {
    await engine.removeContainer(id).catch(() => undefined);
  }
}

/**
 * The daemon's (stopped) data root as a tar in a FIFO, written by the helper container. A directory backend's zstd
 * reads it there; a stream consumer gets a stream that ends only when the helper exited 0 (a tar cut short errors
 * instead of ending). Either way no backend ever stores a truncated snapshot as an entry.
 */
export async function snapshotDataRoot(place: SnapshotPlace): Promise<FifoTar> {
  const tar = await (place.tar ?? runnerTar)(place.jobDir, JOB);
  const fifo = await makeFifo(place.jobDir);
  let readerDone: Promise<void> | undefined;
  const made = runHelper(place, helperSpec(place, 'save', fifo.name, tar), tar, async () => {
    await unblock(fifo.path, constants.O_WRONLY);
    await readerDone;
  }).finally(async () => {
    // A helper that never started or never opened the FIFO: a reader waiting in its open gets the end of the file.
    await unblock(fifo.path, constants.O_WRONLY);
    await rm(fifo.path, { force: true });
  });
  made.catch(() => undefined);
  return {
    fifo: fifo.path,
    made,
    stream: () => {
      const out = new PassThrough();
      const reader = createReadStream(fifo.path);
      reader.on('error', (e) => out.destroy(e));
      reader.pipe(out, { end: false });
      readerDone = new Promise<void>((resolve) => reader.on('close', resolve));
      made.then(() => out.end(), (e: Error) => out.destroy(e));
      return out;
    },
  };
}

/**
 * Unpacks a snapshot tar into the daemon's volume (before dockerd starts). The source's own child process (zstd, for
 * a directory entry) writes into the FIFO: the tar never passes through Node.
 */
export async function restoreDataRootSnapshot(place: SnapshotPlace, tar: TarSource): Promise<void> {
  const gnuTar = await (place.tar ?? runnerTar)(place.jobDir, JOB);
  const fifo = await makeFifo(place.jobDir);
  try {
    const written = tar.writeTo(fifo.path);
    written.catch(() => undefined);
    try {
      await runHelper(place, helperSpec(place, 'restore', fifo.name, gnuTar), gnuTar, async () => undefined);
    } finally {
      // A helper that never opened the FIFO (or stopped early): the writer's open returns, and its writes fail.
      await release(fifo.path, written);
    }
    await written;
  } finally {
    await rm(fifo.path, { force: true });
  }
}

/**
 * The daemon's own container unpacks a snapshot (a root image through runc on a local engine): its init script runs
 * this before dockerd, so no helper container is created and started, and the backend's lookup (a download, from a
 * cache service) runs while the engine creates and starts the daemon's container. The hand-over goes through files
 * in the job directory named by SETUP_DIND_RESTORE:
 *   .fifo     the tar, written by the runner's zstd (or cat); made before the container is created
 *   .plan     the runner's word: "data" (the tar comes through the FIFO) or "none" (no entry: start cold)
 *   .status   tar's exit code, from the init script (90: no GNU tar, 93: no plan in time)
 *   .verdict  the runner's word after its writer ended: "keep", or "discard" (zstd failed: the tar may be cut short or
 *             corrupt even when tar itself succeeded); anything but "keep" empties the data root again
 *   .done     the init script is through: a container started again (docker restart) keeps its data root as it is
 * A FIFO that is not there (the engine sees another file system) ends the container with 91: the runner replaces it
 * by a cold one when it had an entry to give; without one the job's daemon could not work there anyway (its socket and
 * files are in the same directory), and main reports the container's exit. SETUP_DIND_RESTORE_WAIT bounds each wait
 * for a word of the runner: a runner that is gone leaves a cold daemon. Only tar's open of the FIFO waits for the
 * runner's writer without a bound (the runner opens it at once after "data"; post's removal ends a container whose
 * runner died in between).
 */
export const SEED_ENV = 'SETUP_DIND_RESTORE';

export const seedScript = (run = JOB, data = DATA) => `if [ -n "\${${SEED_ENV}:-}" ] && [ ! -e "${run}/$${SEED_ENV}.done" ]; then
  r="${run}/$${SEED_ENV}" d="${data}" rc=0 t=0.02 w="\${${SEED_ENV}_WAIT:-600}"
  m=$((w * 50))
  ${fifoOr91('$r.fifo')}
  seed_wait() {
    n=0
    while [ ! -s "$1" ]; do
      [ "$n" -lt "$m" ] || return 1
      sleep "$t" 2>/dev/null || { t=1 m=$w; }
      n=$((n + 1))
    done
  }
  if ! seed_wait "$r.plan"; then
    echo "setup-dind: no word from the runner on the data-root restore within $w s; the daemon starts cold" >&2
    echo 93 > "$r.status.tmp" && mv -f "$r.status.tmp" "$r.status"
  elif [ "$(cat "$r.plan")" = data ]; then
    ${PICK_TAR}
    if [ -n "$sdtar" ]; then
      ${EXTRACT} --file="$r.fifo" --directory="$d" || rc=$?
    else
      ${NO_GNU_TAR_SAY}; rc=${NO_GNU_TAR}
    fi
    echo "$rc" > "$r.status.tmp" && mv -f "$r.status.tmp" "$r.status"
    if [ "$rc" = 0 ]; then { seed_wait "$r.verdict" && [ "$(cat "$r.verdict")" = keep ]; } || rc=94; fi
    if [ "$rc" != 0 ]; then
      echo "setup-dind: the data-root restore was not completed (status $rc); what it wrote is removed and the daemon starts cold" >&2
      rm -rf "$d"/* "$d"/.[!.]* "$d"/..?* || :
      [ -z "$(ls -A "$d")" ] || { echo "setup-dind: could not empty $d" >&2; exit 92; }
    fi
  fi
  : > "$r.done"
fi
`;

/** What the daemon's container is, once the engine started it: where its init script is watched. */
export interface SeedTarget {
  engine: Pick<EngineClient, 'inspectContainer' | 'containerLogs'>;
  id: string;
}

/** An unpack by the daemon's init script, prepared before its container is created. */
export interface DaemonSeed {
  /** For the daemon's container (every plan tried): the init script unpacks the entry they name. */
  readonly env: string[];
  /**
   * The engine started this container: the restore goes to its end. False when the container is no longer running
   * (its init script gave up on a FIFO it cannot see): the caller replaces it by a cold one.
   */
  started(target: SeedTarget): Promise<boolean>;
  /** No container was started: the writer is released and the restore ends as failed. */
  abandon(): Promise<void>;
}

/**
 * The cache's restore run through the daemon's init script. `restore` runs the backend's restore with the consumer it
 * is given (and `waited`, the milliseconds the consumer spent waiting for the container, which are not the
 * restore's); it resolves false when the restore failed (a missing entry is no failure). The lookup starts now.
 */
export async function seedDaemon(
  jobDir: string,
  waitSeconds: number,
  restore: (consume: (tar: TarSource) => Promise<void>, waited: () => number) => Promise<boolean>,
  pollMs = 20,
  gnuTar: () => Promise<RunnerTar> = () => runnerTar(jobDir, JOB),
): Promise<DaemonSeed> {
  const tarFound = await gnuTar();
  const name = `restore-${randomBytes(4).toString('hex')}`;
  const base = join(jobDir, name);
  const { path: fifo } = await makeFifo(jobDir, name);
  let startedOne: (target: SeedTarget | undefined) => void = () => undefined;
  const container = new Promise<SeedTarget | undefined>((resolve) => (startedOne = resolve));
  let waitedMs = 0;
  let abandoned = false;
  const consume = async (tar: TarSource): Promise<void> => {
    // Too late (the restore's deadline passed, or no container started): the init script was told "none" already.
    if (abandoned) throw new SnapshotError('no daemon container was started');
    if (!(await decide(base, 'plan', 'data'))) throw new SnapshotError('the daemon had started cold before the entry was found');
    const written = tar.writeTo(fifo);
    // The verdict follows the writer at once: the init script reads it as soon as its tar is done.
    const verdict = written.then(() => decide(base, 'verdict', 'keep'), () => decide(base, 'verdict', 'discard'));
    const waiting = performance.now();
    const target = await container;
    waitedMs = performance.now() - waiting;
    const status = target ? await initStatus(target, `${base}.status`, pollMs, waitSeconds * 1000) : undefined;
    if (status !== 0) {
      // The init script never opened the FIFO, or stopped reading: the writer's open returns and its writes fail.
      await release(fifo, written);
      await verdict;
      throw new SnapshotError(target ? await whyNotUnpacked(target, status, tarFound) : 'no daemon container was started');
    }
    await written;
    await verdict;
  };
  const outcome = restore(consume, () => waitedMs).catch(() => false);
  // No entry, or a failure before any tar: the init script goes on at once (a "data" written before stays).
  const done = outcome.then(async (kept) => {
    await decide(base, 'plan', 'none');
    if (!kept) await decide(base, 'verdict', 'discard');
    return kept;
  });
  return {
    env: [`${SEED_ENV}=${name}`, `${SEED_ENV}_WAIT=${waitSeconds}`, ...tarEnv(tarFound)],
    started: async (target) => {
      startedOne(target);
      if (await done) return true;
      // Gone or stopped: replace it. An engine that does not answer this once: keep it (main's wait decides).
      const c = await target.engine.inspectContainer(target.id).then((x) => x ?? null, () => undefined);
      return c !== null && c?.running !== false;
    },
    // The phase fails at once: a lookup still running (a download) ends on its own, and its tar is refused.
    abandon: async () => {
      abandoned = true;
      startedOne(undefined);
      await decide(base, 'plan', 'none').catch(() => undefined);
    },
  };
}

/**
 * Writes the runner's word once: the first word stands (a hard link never replaces a file), and appears whole.
 * True when this word is the one that stands.
 */
async function decide(base: string, kind: 'plan' | 'verdict', value: string): Promise<boolean> {
  const final = `${base}.${kind}`;
  const temporary = `${final}.${randomBytes(3).toString('hex')}`;
  await writeFile(temporary, `${value}\n`, { mode: 0o644 });
  try {
    await link(temporary, final);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return (await readFile(final, 'utf8')).trim() === value;
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Ends a writer that waits to open the FIFO or writes into it with no reader: opens and closes the reading end until
 * the writer settled (its open may come after one such open).
 */
async function release(fifo: string, written: Promise<void>): Promise<void> {
  let settled = false;
  const done = written.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 200 && !settled; i++) {
    await unblock(fifo, constants.O_RDONLY);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
}

/**
 * tar's exit code from the init script; 'exited' when its container stopped running (or is gone) before it wrote
 * one; 'late' when nothing came within `limitMs` (the init script's own bound on its waits).
 */
async function initStatus(target: SeedTarget, file: string, pollMs: number, limitMs: number): Promise<number | 'exited' | 'late'> {
  const read = async () => (await readFile(file, 'utf8').catch(() => '')).trim();
  const until = performance.now() + limitMs;
  for (let i = 1; performance.now() < until; i++) {
    const text = await read();
    if (text) return Number(text);
    // Asking the engine costs more than a look at the file: every quarter of a second. An engine that does not
    // answer this once says nothing about the container.
    if (i % Math.max(1, Math.round(250 / pollMs)) === 0) {
      const c = await target.engine.inspectContainer(target.id).then((x) => x ?? null, () => undefined);
      if (c === null || c?.running === false) {
        const last = await read();
        return last ? Number(last) : 'exited';
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return 'late';
}

async function whyNotUnpacked(target: SeedTarget, status: number | 'exited' | 'late' | undefined, tar: RunnerTar): Promise<string> {
  if (status === 'late') return 'the daemon\'s container said nothing about the unpack in time';
  if (status === NO_GNU_TAR) return noGnuTar(tar);
  if (status === 93) return 'the daemon\'s container had no word from the runner in time';
  const output = (await target.engine.containerLogs(target.id, 10).catch(() => '')).trim().split('\n').filter((l) => /tar|setup-dind/.test(l)).join(' / ');
  if (status === 'exited') {
    const c = await target.engine.inspectContainer(target.id).catch(() => undefined);
    return `the daemon's container ended before it unpacked the entry${c ? ` (exit ${c.exitCode})` : ''}${output ? `: ${output}` : ''}`;
  }
  return `unpacking in the daemon's container failed (tar exit ${status})${output ? `: ${output}` : ''}`;
}
