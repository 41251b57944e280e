// Multi-threaded zstd through the zstd binary, streaming both ways: archives never pass through a temporary tar.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { type FifoTar, type TarOutput, isFifoTar } from './tar.js';

export class ZstdError extends Error {}

export function zstdFailure(args: string[], code: number | null, stderr: string, spawnError?: Error): ZstdError {
  if ((spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new ZstdError('zstd is not installed; install it (apt-get install zstd, apk add zstd) to use the image cache');
  }
  return new ZstdError(`zstd ${args.join(' ')} failed (exit ${code}): ${stderr.trim() || spawnError?.message || 'no message'}`);
}

/**
 * Compresses `source` into `file` with every core (-T0). A tar in a FIFO is read by zstd itself (the bytes skip this
 * process); it resolves only when the FIFO's writer succeeded too, so a tar cut short never passes as complete.
 */
export function compressToFile(source: TarOutput, file: string, level = 3): Promise<void> {
  return isFifoTar(source) ? compressFifo(source, file, level) : compressStream(source, file, level);
}

async function compressFifo(tar: FifoTar, file: string, level: number): Promise<void> {
  // zstd opens the FIFO itself: its open waits for the writer in zstd, not in this process.
  const args = [`-${level}`, '-T0', '-q', '-f', '-o', file, '--', tar.fifo];
  const compressed = new Promise<void>((resolve, reject) => {
    const child = spawn('zstd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (e) => (spawnError = e));
    // A writer that failed may never have opened the FIFO: zstd would wait for it for ever.
    tar.made.catch(() => child.kill('SIGKILL'));
    child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(zstdFailure(args, code, stderr, spawnError))));
  });
  const [made, done] = await Promise.allSettled([tar.made, compressed]);
  if (made.status === 'rejected') throw made.reason;
  if (done.status === 'rejected') throw done.reason;
}

function compressStream(source: Readable, file: string, level: number): Promise<void> {
  const args = [`-${level}`, '-T0', '-q', '-f', '-o', file];
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (e) => (spawnError = e));
    source.on('error', (e) => {
      child.kill('SIGKILL');
      reject(e);
    });
    child.stdin!.on('error', () => undefined); // a dying zstd is reported by its exit code
    source.pipe(child.stdin!);
    child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(zstdFailure(args, code, stderr, spawnError))));
  });
}

/** Decompresses `file` as a stream; `done` rejects when zstd fails (a corrupt or truncated archive). */
export function decompressFile(file: string): { stream: Readable; done: Promise<void> } {
  const args = ['-d', '-q', '-c', file];
  const child = spawn('zstd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: Error | undefined;
  child.stderr!.on('data', (d) => (stderr += d));
  child.on('error', (e) => (spawnError = e));
  const done = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => {
      if (code === 0 && !spawnError) resolve();
      else {
        const error = zstdFailure(args, code, stderr, spawnError);
        child.stdout!.destroy(error);
        reject(error);
      }
    });
  });
  done.catch(() => undefined);
  return { stream: child.stdout!, done };
}
