// data-root snapshots that keep what overlay layers need: extended attributes (trusted.overlay.opaque marks a
// directory a later layer replaced), whiteout devices, owners by number. The engine's archive API keeps none of the
// trusted.* attributes, so the tar is made (and unpacked) by GNU tar in a short-lived container of the dind image
// that mounts the daemon's volume; it streams through a FIFO in the per-job directory, which that container mounts.
// Runtime state never enters a snapshot: containers (with their restart policies), networks, containerd's task
// state, volumes and temporary files are left out, and the daemon is pruned before it stops.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { ContainerSpec, EngineClient } from '../engine/client.js';
import type { FifoTar, TarSource } from './tar.js';

const run = promisify(execFile);

/** Where the helper sees the daemon's volume and the per-job directory. */
const DATA = '/var/lib/docker';
const JOB = '/run/setup-dind';

/** Paths under the data root a snapshot leaves out: runtime state, and volumes (data of the job, not of the cache). */
export const SNAPSHOT_EXCLUDES = [
  './containers', './network', './runtimes', './tmp', './volumes', './swarm', './image/*/layerdb/mounts',
  './containerd/daemon/io.containerd.runtime.v2.task', './containerd/daemon/io.containerd.sandbox.controller.v1.shim',
  './engine-id',
];

/** What a save leaves out: with cache-volumes the daemon's volumes stay in (named ones: anonymous volumes go with their containers). */
export const snapshotExcludes = (volumes = false): string[] => (volumes ? SNAPSHOT_EXCLUDES.filter((x) => x !== './volumes') : SNAPSHOT_EXCLUDES);

/** Exit code of the helper when the image has no GNU tar (busybox tar drops extended attributes). */
export const NO_GNU_TAR = 90;

/**
 * The helper's script: `save` writes the data root into the FIFO, `restore` unpacks the FIFO into it. A fixed text:
 * the FIFO's path and the excludes arrive as arguments.
 */
export const SNAPSHOT_SCRIPT = `set -e
mode=$1 fifo=$2; shift 2
tar --version 2>/dev/null | grep -q 'GNU tar' || { echo "setup-dind: this image has no GNU tar (busybox tar drops the overlay metadata a snapshot needs)" >&2; exit ${NO_GNU_TAR}; }
[ -p "$fifo" ] || { echo "setup-dind: $fifo is not the FIFO the runner made (is the engine on another machine?)" >&2; exit 91; }
cd ${DATA}
if [ "$mode" = save ]; then
  for x in "$@"; do set -- "$@" "--exclude=$x"; shift; done
  exec tar --create --file="$fifo" --xattrs --xattrs-include='*' --numeric-owner --sparse --anchored "$@" .
fi
exec tar --extract --read-full-records --file="$fifo" --xattrs --xattrs-include='*' --numeric-owner --same-owner --preserve-permissions`;

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
}

export function helperSpec(place: SnapshotPlace, mode: 'save' | 'restore', fifoName: string): ContainerSpec {
  return {
    name: `${place.volume}-${mode}-${randomBytes(3).toString('hex')}`,
    Image: place.image,
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

async function makeFifo(jobDir: string): Promise<{ name: string; path: string }> {
  const name = `snapshot-${randomBytes(4).toString('hex')}.fifo`;
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
async function runHelper(place: SnapshotPlace, spec: ContainerSpec, onExit: () => Promise<void>): Promise<void> {
  const { engine } = place;
  const id = await engine.createContainer(spec);
  try {
    await engine.startContainer(id);
    const code = await engine.waitContainer(id);
    await onExit();
    if (code !== 0) {
      const output = (await engine.containerLogs(id, 20).catch(() => '')).trim();
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
  const fifo = await makeFifo(place.jobDir);
  let readerDone: Promise<void> | undefined;
  const made = runHelper(place, helperSpec(place, 'save', fifo.name), async () => {
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
  const fifo = await makeFifo(place.jobDir);
  try {
    const written = tar.writeTo(fifo.path);
    written.catch(() => undefined);
    try {
      await runHelper(place, helperSpec(place, 'restore', fifo.name), async () => undefined);
    } finally {
      // A helper that never opened the FIFO (or stopped early): the writer's open returns, and its writes fail.
      await unblock(fifo.path, constants.O_RDONLY);
    }
    await written;
  } finally {
    await rm(fifo.path, { force: true });
  }
}
