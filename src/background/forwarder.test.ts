import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../platform/platform.js';
import { FORWARDER_FLAG, PortForwarder, forwarderFollowing, forwarderWarnings, publishedPorts, stopForwarder } from './forwarder.js';

describe('publishedPorts', () => {
  it('forwards TCP ports published on every address; says which are on the daemon\'s loopback only', () => {
    expect(publishedPorts({
      '80/tcp': [{ hostIp: '0.0.0.0', hostPort: '8080' }, { hostIp: '::', hostPort: '8080' }],
      '443/tcp': [{ hostIp: '127.0.0.1', hostPort: '8443' }],
      '53/udp': [{ hostIp: '0.0.0.0', hostPort: '5353' }],
      '9000/tcp': [{ hostIp: '', hostPort: '32768' }],
      '22/tcp': [],
    })).toEqual({ forward: [8080, 32768], loopbackOnly: [8443] });
  });
});

/** A TCP server on 127.0.0.1 that answers every line with "echo:<line>", and sends "bye" when the client half-closes. */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(`echo:${d}`));
    s.on('end', () => s.end('bye'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects, sends `text`, half-closes, and returns everything received until the far end closes. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => {
      c.write(text);
      setTimeout(() => c.end(), 50);
    });
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('close', () => resolve(got));
    c.on('error', reject);
  });
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('PortForwarder', () => {
  it('relays connections to target:port both ways, half-close included, and releases the port', async () => {
    // The upstream is the "daemon container": forwarded from a free port to the same port number there is not
    // possible on one loopback, so the target listens on another address of 127/8.
    const upstream = await echoServer();
    cleanups.push(upstream.close);
    const lines: string[] = [];
    const fwd = new PortForwarder('127.0.0.1', ['127.0.0.2'], (l) => lines.push(l));
    cleanups.push(() => fwd.close());
    await fwd.sync('c1', [upstream.port]);
    expect(fwd.ports).toEqual([upstream.port]);
    const got = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.2', port: upstream.port, allowHalfOpen: true }, () => {
        c.write('ping');
        setTimeout(() => c.end(), 50);
      });
      let text = '';
      c.on('data', (d) => (text += d));
      c.on('close', () => resolve(text));
      c.on('error', reject);
    });
    expect(got).toBe('echo:pingbye');
    expect(lines.join('\n')).toMatch(new RegExp(`forwarding 127.0.0.2 port ${upstream.port} to 127.0.0.1:${upstream.port}`));
    fwd.release('c1');
    expect(fwd.ports).toEqual([]);
    await expect(new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.2', port: upstream.port }, () => resolve('connected'));
      c.on('error', (e: NodeJS.ErrnoException) => reject(e.code));
    })).rejects.toBe('ECONNREFUSED');
  });

  it('syncs a container\'s ports to exactly the given set, and says when a port is taken on the job\'s side', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanups.push(() => taken.close());
    const takenPort = (taken.address() as net.AddressInfo).port;
    const [a, b] = [await freePort(), await freePort()];
    const lines: string[] = [];
    const fwd = new PortForwarder('127.0.0.9', ['127.0.0.1', '::1'], (l) => lines.push(l));
    cleanups.push(() => fwd.close());
    await fwd.sync('c1aaaaaaaaaaaaaaaa', [a, b, takenPort], '/web');
    expect(fwd.ports).toEqual([a, b].sort((x, y) => x - y));
    // The collision report: the port, the container by name and id, that it is taken, and the remedy.
    const report = lines.filter((l) => l.startsWith('warning: '));
    expect(report).toEqual([
      `warning: port ${takenPort} of container web (c1aaaaaaaaaa) is not forwarded: 127.0.0.1:${takenPort} is already allocated on this host (another job or program listens there); connections to it do not reach this container. ` +
        'Publish it on another host port (-p <free port>:<container port>), or let the daemon choose one (-p <container port>) and read it with docker port.',
    ]);
    // Nothing of ours listens there: a client reaches the holder, and the holder only.
    expect(fwd.ports).not.toContain(takenPort);
    await fwd.sync('c1aaaaaaaaaaaaaaaa', [b]);
    expect(fwd.ports).toEqual([b]);
    // Another container's release leaves it alone.
    fwd.release('c2');
    expect(fwd.ports).toEqual([b]);
    // An upstream that refuses: the client's connection is closed, the forwarder goes on.
    expect(await exchange(b, 'x')).toBe('');
    expect(fwd.ports).toEqual([b]);
  });
});

describe('stopForwarder', () => {
  it('stops a process that runs the forwarder, and leaves a pid that runs something else alone', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', FORWARDER_FLAG], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', (code, sig) => r(sig)));
    // Until the exec, /proc/<pid>/cmdline is still the parent's.
    for (let i = 0; i < 100 && !readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(FORWARDER_FLAG); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await stopForwarder({ pid: child.pid!, log: '', script: '' })).toBe(true);
    expect(await exited).toBe('SIGTERM');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    cleanups.push(() => other.kill('SIGKILL'));
    expect(await stopForwarder({ pid: other.pid!, log: '', script: '' })).toBe(false);
    expect(other.exitCode).toBeNull();
    expect(await stopForwarder({ pid: 2 ** 22 + 1, log: '', script: '' })).toBe(false);
  });
});

describe('forwarderWarnings', () => {
  it('repeats what the forwarder could not do, for post', () => {
    const log = '2026-12-02T00:00:00Z forwarding 127.0.0.1, ::1 port 80 to 172.17.0.2:80 (container abc)\n2026-12-02T00:00:01Z warning: cannot listen on 127.0.0.1:8080 for container def: listen EADDRINUSE\n';
    expect(forwarderWarnings({ pid: 1, log: '/x', script: '' }, () => log)).toEqual(['cannot listen on 127.0.0.1:8080 for container def: listen EADDRINUSE']);
    expect(forwarderWarnings({ pid: 1, log: '/nonexistent/forwarder.log', script: '' })).toEqual([]);
  });
});

describe('forwarderFollowing (a forwarder pre started)', () => {
  const logger = () => {
    const warnings: string[] = [];
    const log: Logger = { info: () => undefined, warning: (t) => void warnings.push(t), error: () => undefined, debug: () => undefined };
    return { warnings, log };
  };

  it('waits until the forwarder follows the daemon (its ready file), then gives testcontainers 127.0.0.1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwd-'));
    try {
      const ready = join(dir, 'forwarder.ready');
      const { warnings, log } = logger();
      setTimeout(() => writeFileSync(ready, '1\n'), 100);
      // Our own pid stands for a running forwarder.
      const following = await forwarderFollowing({ pid: process.pid, log: '', script: '', ready }, log, {}, '10.0.0.2');
      expect(following).toEqual({ TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' });
      expect(warnings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, as for a forwarder that cannot start, when it is gone without following', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwd-'));
    try {
      const child = spawn(process.execPath, ['-e', '0']);
      await new Promise((r) => child.once('exit', r));
      const { warnings, log } = logger();
      expect(await forwarderFollowing({ pid: child.pid!, log: '', script: '', ready: join(dir, 'never') }, log, {}, '10.0.0.2')).toEqual({});
      expect(warnings).toEqual(["setup-dind: published ports are not forwarded to 127.0.0.1 (the port forwarder exited); they answer at the daemon's address 10.0.0.2."]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
