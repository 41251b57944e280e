import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileNoWindow } from './private-file.js';

const root = mkdtempSync(join(tmpdir(), 'private-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileNoWindow', () => {
  it('replaces an existing world-readable file by a new 0600 inode instead of writing the key into it', () => {
    const path = join(root, 'key.pem');
    writeFileSync(path, 'old', { mode: 0o644 });
    const before = lstatSync(path).ino;
    return writeFileNoWindow(path, 'KEY').then(() => {
      expect(readFileSync(path, 'utf8')).toBe('KEY');
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      expect(lstatSync(path).ino).not.toBe(before);
      expect(readdirSync(root).filter((f) => f.startsWith('.'))).toEqual([]);
    });
  });
  it('replaces a symlink instead of writing through it', async () => {
    const victim = join(root, 'victim');
    writeFileSync(victim, 'untouched');
    const path = join(root, 'link.pem');
    symlinkSync(victim, path);
    await writeFileNoWindow(path, 'KEY');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
  });
  it('gives a certificate its final mode after the content is in', async () => {
    const path = join(root, 'ca.crt');
    await writeFileNoWindow(path, 'CERT', 0o644);
    expect(lstatSync(path).mode & 0o777).toBe(0o644);
  });
});
