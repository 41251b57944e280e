import { describe, expect, it } from 'vitest';
import { demuxLogs, newDocker } from './client.js';

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

describe('EngineClient', () => {
  it('uses the endpoint it is given even when DOCKER_HOST and DOCKER_CERT_PATH point elsewhere', () => {
    const saved = { ...process.env };
    try {
      process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
      process.env.DOCKER_TLS_VERIFY = '1';
      process.env.DOCKER_CERT_PATH = '/nonexistent/certs';
      const docker = newDocker({ socketPath: '/outer/docker.sock' });
      const modem = docker.modem as unknown as { socketPath?: string; host?: string; protocol?: string };
      expect(modem).toMatchObject({ socketPath: '/outer/docker.sock', host: undefined, protocol: 'http' });
      expect(process.env.DOCKER_HOST).toBe('tcp://127.0.0.1:1');
    } finally {
      process.env = saved;
    }
  });
});
