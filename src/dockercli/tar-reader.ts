// Reading a tar stream (what the engine's archive endpoint answers) in-process: ustar headers, with the PAX ('x')
// and GNU ('L', 'K') long-name records Go's archive/tar writes. No program is spawned and nothing is extracted
// unless the caller names a destination for the entry: the caller decides where (if anywhere) each entry goes.
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface TarEntry {
  /** The path inside the archive (PAX or GNU long names applied). */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: number;
  /** A symlink's target as stored. */
  linkname: string;
}

const BLOCK = 512;

const text = (b: Buffer) => {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
};

function octal(b: Buffer): number {
  // Base-256 (GNU) for values that do not fit in octal digits: the high bit of the first byte is set.
  if (b[0]! & 0x80) return b.subarray(1).reduce((n, byte) => n * 256 + byte, b[0]! & 0x7f);
  const digits = text(b).trim();
  return digits ? parseInt(digits, 8) : 0;
}

/** "len key=value\n" records of a PAX extended header. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.subarray(offset, space).toString('ascii'));
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}

function typeOf(flag: string): TarEntry['type'] {
  if (flag === '0' || flag === '\0' || flag === '' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  return 'other';
}

/** The reader's position in the stream: content still to come, padding to skip, what the content goes to. */
class TarReader {
  readonly entries: TarEntry[] = [];
  ended = false;
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private skip = 0;
  private sink: FileHandle | undefined;
  private collecting: { kind: 'x' | 'L' | 'K'; parts: Buffer[] } | undefined;
  private overrides: { name?: string; linkname?: string; size?: number } = {};

  constructor(private readonly destination: (entry: TarEntry) => string | undefined) {}

  get incomplete(): boolean {
    return this.remaining > 0 || this.sink !== undefined;
  }

  async push(chunk: Buffer): Promise<void> {
    if (this.ended) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (await this.step());
  }

  async close(): Promise<void> {
    await this.sink?.close();
    this.sink = undefined;
  }

  /** Consumes what it can; false when it needs more data (or the archive ended). */
  private async step(): Promise<boolean> {
    if (this.remaining > 0) {
      const n = Math.min(this.remaining, this.pending.length);
      const part = this.pending.subarray(0, n);
      if (this.sink) await this.sink.write(part);
      this.collecting?.parts.push(Buffer.from(part));
      this.remaining -= n;
      this.pending = this.pending.subarray(n);
      if (this.remaining > 0) return false;
      await this.entryDone();
    }
    if (this.skip > 0) {
      const n = Math.min(this.skip, this.pending.length);
      this.skip -= n;
      this.pending = this.pending.subarray(n);
      if (this.skip > 0) return false;
    }
    if (this.pending.length < BLOCK) return false;
    const header = this.pending.subarray(0, BLOCK);
    this.pending = this.pending.subarray(BLOCK);
    if (header.every((b) => b === 0)) {
      this.ended = true;
      return false;
    }
    await this.header(header);
    return true;
  }

  private async entryDone(): Promise<void> {
    await this.close();
    const c = this.collecting;
    if (!c) return;
    this.collecting = undefined;
    const data = Buffer.concat(c.parts);
    if (c.kind === 'x') {
      const pax = paxRecords(data);
      if (pax.path) this.overrides.name = pax.path;
      if (pax.linkpath) this.overrides.linkname = pax.linkpath;
      if (pax.size) this.overrides.size = Number(pax.size);
    } else if (c.kind === 'L') this.overrides.name = text(data);
    else this.overrides.linkname = text(data);
  }

  private async header(header: Buffer): Promise<void> {
    const flag = String.fromCharCode(header[156]!);
    const prefix = header.subarray(257, 262).toString('ascii') === 'ustar' ? text(header.subarray(345, 500)) : '';
    const size = this.overrides.size ?? octal(header.subarray(124, 136));
    this.remaining = size;
    this.skip = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      this.collecting = { kind: flag, parts: [] };
      if (size === 0) await this.entryDone();
      return;
    }
    if (flag === 'g') return; // a global PAX header: nothing the caller needs
    const name = text(header.subarray(0, 100));
    const entry: TarEntry = {
      name: this.overrides.name ?? (prefix ? `${prefix}/${name}` : name),
      type: typeOf(flag),
      size,
      mode: octal(header.subarray(100, 108)) & 0o7777,
      linkname: this.overrides.linkname ?? text(header.subarray(157, 257)),
    };
    this.overrides = {};
    this.entries.push(entry);
    const target = this.destination(entry);
    if (target && entry.type === 'file') {
      this.sink = await open(target, 'wx', entry.mode & 0o755);
      if (size === 0) await this.close();
    }
  }
}

/**
 * Reads the whole tar stream. `destination` is asked once per entry (directories and links included): a path
 * makes a regular file's content go to a new file there (its mode from the entry, at most 0755; an existing file is
 * an error, never overwritten); undefined skips it. Resolves with every entry read.
 */
export async function readTar(stream: Readable, destination: (entry: TarEntry) => string | undefined): Promise<TarEntry[]> {
  const reader = new TarReader(destination);
  try {
    for await (const chunk of stream) await reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } finally {
    await reader.close();
  }
  if (reader.incomplete || !reader.ended) throw new Error('the archive ended in the middle of an entry');
  return reader.entries;
}
