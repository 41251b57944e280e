import { describe, expect, it } from 'vitest';
import { demuxLogs } from './client.js';

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe('demuxLogs', () => {
  it('joins stdout and stderr frames in order', () => {
    expect(demuxLogs(Buffer.concat([frame(1, 'a\n'), frame(2, 'err\n'), frame(1, 'b\n')]))).toBe('a\nerr\nb\n');
  });
  it('passes through a plain (TTY) log', () => {
    expect(demuxLogs(Buffer.from('plain text\n'))).toBe('plain text\n');
  });
});
