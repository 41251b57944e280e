import { execFileSync, spawn } from 'node:child_process';
import { constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consumeSource, fileTar, zstdTar } from './tar-source.js';
import { compressToFile } from './zstd.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-tar-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const fifo = () => {
  const path = join(dir, `f${n++}.fifo`);
  execFileSync('mkfifo', ['-m', '600', path]);
  return path;
};
/** What a reader of the FIFO gets (cat, as the helper container's tar would read it); `bytes` stops after that many. */
const readFifo = (path: string, bytes?: number) =>
  new Promise<Buffer>((resolve, reject) => {
    const child = spawn('sh', ['-c', bytes === undefined ? 'cat "$1"' : 'head -c "$2" "$1"', 'reader', path, String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks)));
  });

// Larger than a pipe's buffer, so that a reader that stops early leaves the writer with bytes it cannot write.
const content = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join(''));
const plain = join(dir, 'entry.tar');
writeFileSync(plain, content);
const compressed = join(dir, 'entry.tar.zst');
execFileSync('zstd', ['-q', '-f', '-o', compressed, plain]);

describe('TarSource', () => {
  it('zstd writes the tar straight into a FIFO, and the reader sees its end', async () => {
    const path = fifo();
    const tar = zstdTar(compressed);
    const [written, read] = await Promise.all([tar.source.writeTo(path), readFifo(path)]);
    expect(written).toBeUndefined();
    expect(read.equals(content)).toBe(true);
    await tar.settled();
  });

  it('a plain tar file goes into the FIFO by cat', async () => {
    const path = fifo();
    const [, read] = await Promise.all([fileTar(plain).source.writeTo(path), readFifo(path)]);
    expect(read.equals(content)).toBe(true);
  });

  it('the same sources read as streams', async () => {
    for (const tar of [zstdTar(compressed), fileTar(plain)]) {
      const chunks: Buffer[] = [];
      for await (const c of tar.source.stream()) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      await tar.settled();
    }
  });

  it('a corrupt entry fails the write with zstd\'s message', async () => {
    const corrupt = join(dir, 'corrupt.tar.zst');
    writeFileSync(corrupt, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 7)]));
    const path = fifo();
    const [written] = await Promise.allSettled([zstdTar(corrupt).source.writeTo(path), readFifo(path)]);
    expect(written.status).toBe('rejected');
    expect(((written as PromiseRejectedResult).reason as Error).message).toMatch(/zstd -d -q -c .*corrupt\.tar\.zst failed/);
  });

  it('a reader that stops before the end fails the write', async () => {
    const path = fifo();
    const [written, read] = await Promise.allSettled([zstdTar(compressed).source.writeTo(path), readFifo(path, 100)]);
    expect((read as PromiseFulfilledResult<Buffer>).value.length).toBe(100);
    expect(written.status).toBe('rejected');
  });

  it('a reader that never comes: opening and closing the read end releases the writer, which fails', async () => {
    const path = fifo();
    const written = zstdTar(compressed).source.writeTo(path);
    written.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    // What restoreDataRootSnapshot does when its helper container never opened the FIFO.
    await (await open(path, constants.O_RDONLY | constants.O_NONBLOCK)).close();
    await expect(written).rejects.toThrow();
  });

  it('abort ends a stream nobody reads, so settled() returns, with the ended zstd\'s failure', async () => {
    const tar = zstdTar(compressed);
    tar.source.stream();
    tar.abort();
    await expect(tar.settled()).rejects.toThrow(/zstd -d -q -c .* failed/);
  });

  it('a zstd that fails after the whole stream was read still fails the restore', async () => {
    // A whole frame, then bytes that are no frame: zstd writes the frame out, then exits 1.
    const trailing = join(dir, 'trailing.tar.zst');
    writeFileSync(trailing, Buffer.concat([execFileSync('zstd', ['-q', '-c', plain]), Buffer.from('not a zstd frame')]));
    let read = 0;
    const restore = consumeSource(zstdTar(trailing), async (tar) => {
      for await (const chunk of tar.stream()) read += (chunk as Buffer).length;
    });
    await expect(restore).rejects.toThrow(/zstd -d -q -c .*trailing\.tar\.zst failed/);
    expect(read).toBe(content.length);
  });
});

describe('compressToFile from a FIFO (a data-root save)', () => {
  /** A FifoTar whose writer is a shell: `script` writes into "$1" (the FIFO) and decides the outcome. */
  const shellTar = (script: string) => {
    const path = fifo();
    const made = new Promise<void>((resolve, reject) => {
      const child = spawn('sh', ['-c', script, 'writer', path, plain], { stdio: 'ignore' });
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the writer failed (exit ${code})`))));
    });
    made.catch(() => undefined);
    return { fifo: path, made, stream: () => { throw new Error('not read as a stream'); } };
  };

  it('zstd reads the FIFO itself; the file holds the whole tar', async () => {
    const out = join(dir, 'saved.tar.zst');
    await compressToFile(shellTar('cat "$2" > "$1"'), out);
    expect(execFileSync('zstd', ['-d', '-q', '-c', out]).equals(content)).toBe(true);
  });

  it('a writer that fails after part of the tar: the save fails with its error, though zstd saw a clean end', async () => {
    await expect(compressToFile(shellTar('head -c 1000 "$2" > "$1"; exit 3'), join(dir, 'cut.tar.zst'))).rejects.toThrow('the writer failed (exit 3)');
  });

  it('a writer that never opens the FIFO: the save fails at once instead of waiting for it', async () => {
    await expect(compressToFile(shellTar('exit 4'), join(dir, 'never.tar.zst'))).rejects.toThrow('the writer failed (exit 4)');
  });
});
