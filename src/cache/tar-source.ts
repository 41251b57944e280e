// An entry's tar as a backend hands it over: read as a stream through this process (docker load over the engine's
// API), or written by a child process straight into a file, a FIFO that a container reads (the data-root restore),
// so that hundreds of megabytes never pass through Node. Through Node, a FIFO restore took twice as long as
// `zstd -d | tar -x` on a busy 2-core runner: one more process in the chain, and every chunk copied twice.
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TarSource } from './tar.js';
import { decompressFile, zstdFailure } from './zstd.js';

export type { TarSource };

/**
 * A source and what it started: `settled` ends when the child it started (if any) has ended, and rejects when that
 * child failed; `abort` ends it now.
 */
export interface StartedSource {
  source: TarSource;
  settled(): Promise<void>;
  abort(): void;
}

/**
 * A backend's restore: hands the source to `consume` and returns once both ends have settled (a child still writing
 * must not outlive a consumer that failed: it is ended). Throws what failed, the consumer's error first.
 */
export async function consumeSource(tar: StartedSource, consume: (tar: TarSource) => Promise<void>): Promise<void> {
  const [consumed] = await Promise.allSettled([consume(tar.source)]);
  if (consumed.status === 'rejected') tar.abort();
  const [child] = await Promise.allSettled([tar.settled()]);
  const reasons = [...new Set([consumed, child].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : [])))];
  if (reasons.length) throw new Error(reasons.join('; '));
}

/**
 * Runs the child `start` makes with its stdout on `path`, opened for writing first (a FIFO blocks until its reader
 * opens it); `describe` turns its failure into an error.
 */
async function childInto(path: string, start: (stdout: number) => ChildProcess, describe: (code: number | null, stderr: string, error?: Error) => Error, track: (kill: () => void) => void): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = start(handle.fd);
      track(() => child.kill('SIGKILL'));
      let stderr = '';
      let spawnError: Error | undefined;
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('error', (e) => (spawnError = e));
      // Our copy of the write end goes at once: the reader sees the end of the file when the child exits.
      void handle.close().catch(() => undefined);
      child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(describe(code, stderr, spawnError))));
    });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function started(stream: () => { stream: Readable; done: Promise<void>; kill: () => void }, into: (path: string, track: (kill: () => void) => void) => Promise<void>): StartedSource {
  let running: Promise<void> = Promise.resolve();
  let kill = () => undefined as void;
  // settled() hands the child's outcome on; until someone asks, its failure is no unhandled rejection.
  const track = (done: Promise<void>) => {
    running = done;
    done.catch(() => undefined);
    return done;
  };
  return {
    source: {
      stream: () => {
        const s = stream();
        track(s.done);
        kill = s.kill;
        return s.stream;
      },
      writeTo: (path) => track(into(path, (k) => (kill = k))),
    },
    settled: () => running,
    abort: () => kill(),
  };
}

/** The tar inside a zstd-compressed file: zstd decompresses it into the stream or the FIFO. */
export function zstdTar(file: string): StartedSource {
  const args = ['-d', '-q', '-c', file];
  return started(
    () => {
      const d = decompressFile(file);
      return { stream: d.stream, done: d.done, kill: () => d.stream.destroy() };
    },
    (path, track) => childInto(path, (stdout) => spawn('zstd', args, { stdio: ['ignore', stdout, 'pipe'] }), (code, stderr, error) => zstdFailure(args, code, stderr, error), track),
  );
}

/** A plain tar file: read as a stream, or copied into the FIFO by cat. */
export function fileTar(file: string): StartedSource {
  return started(
    () => {
      const s = createReadStream(file);
      return { stream: s, done: new Promise<void>((resolve, reject) => s.on('close', resolve).on('error', reject)), kill: () => s.destroy() };
    },
    (path, track) => childInto(path, (stdout) => spawn('cat', [file], { stdio: ['ignore', stdout, 'pipe'] }), (code, stderr, error) => new Error(`copying ${file} failed (${error?.message ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`), track),
  );
}
