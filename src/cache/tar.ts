// The shapes an entry's tar takes between the cache's makers (docker save, the data-root helper container) and its
// backends. A leaf: zstd.ts, tar-source.ts, data-root.ts and the backends all use it.
import type { Readable } from 'node:stream';

/** An entry's tar on its way out of a backend (a restore). */
export interface TarSource {
  /** The tar as a stream, read once. */
  stream(): Readable;
  /**
   * Writes the tar into `path` (a FIFO: this returns once the reader opened it and the writer is done) from a child
   * process; rejects when the child fails, or when the reader stops before the end.
   */
  writeTo(path: string): Promise<void>;
}

/**
 * A tar that another process (the data-root helper container) writes into a FIFO: a child process reads it there
 * (zstd compresses it straight from the FIFO), or it comes through this process as a stream.
 */
export interface FifoTar {
  readonly fifo: string;
  /** Settles when the writer is done; rejects when it failed, and the tar in the FIFO is then cut short. */
  readonly made: Promise<void>;
  /** The tar through this process, for consumers that need a stream: it errors instead of ending when `made` rejects. */
  stream(): Readable;
}

/** What a save is given: a stream, or a tar in a FIFO. */
export type TarOutput = Readable | FifoTar;

export const isFifoTar = (t: TarOutput): t is FifoTar => typeof (t as Partial<FifoTar>).fifo === 'string' && (t as Partial<FifoTar>).made instanceof Promise;

/** The tar as a stream through this process, whatever its shape. */
export const tarStream = (t: TarOutput): Readable => (isFifoTar(t) ? t.stream() : t);
