import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type Server, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAEMON_SOCKET, JOB_SOCKET, cannotRunMessage, jobSocketExists, linkDaemonSocket, openGate } from './run-gate.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in for dockerd on the job directory's DAEMON_SOCKET: answers every request with "daemon: <request line>". */
async function fakeDaemon(dir: string): Promise<Server> {
  const server = createServer((c) => {
    let got = '';
    c.on('data', (b) => {
      got += b.toString();
      if (!got.includes('\r\n\r\n')) return;
      const body = `daemon: ${got.split('\r\n')[0]}`;
      c.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(join(dir, DAEMON_SOCKET), () => r()));
  return server;
}

/** One HTTP request on a unix socket; the whole answer as text (or the connection's error). */
const request = (path: string, line = 'GET /_ping HTTP/1.1') => new Promise<string>((resolve) => {
  const s = connect(path);
  let got = '';
  s.on('data', (b) => (got += b.toString()));
  s.on('end', () => resolve(got));
  s.on('error', (e) => resolve(`error: ${(e as NodeJS.ErrnoException).code}`));
  s.write(`${line}\r\nHost: docker\r\n\r\n`);
});

const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sd-gate-'));
  dirs.push(d);
  return d;
};
const settled = async (p: Promise<unknown>, ms = 100) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);

describe('the run gate', () => {
  it('holds the job\'s docker commands until the check passes, then relays them; later ones reach dockerd itself', async () => {
    const dir = newDir();
    const daemon = await fakeDaemon(dir);
    const gate = await openGate(dir);
    expect(lstatSync(join(dir, JOB_SOCKET)).isSocket()).toBe(true);
    expect(lstatSync(join(dir, JOB_SOCKET)).mode & 0o777).toBe(0o660);
    const held = request(join(dir, JOB_SOCKET), 'GET /v1.41/containers/json HTTP/1.1');
    expect(await settled(held)).toBe(false);
    gate.pass();
    expect(await held).toMatch(/^HTTP\/1.1 200 OK[\s\S]*daemon: GET \/v1.41\/containers\/json/);
    // The job's socket is dockerd's own now (one inode), and nothing of the gate is left in the directory.
    expect(lstatSync(join(dir, JOB_SOCKET)).ino).toBe(lstatSync(join(dir, DAEMON_SOCKET)).ino);
    expect(readdirSync(dir).sort()).toEqual([DAEMON_SOCKET, JOB_SOCKET].sort());
    gate.close();
    expect(await request(join(dir, JOB_SOCKET))).toMatch(/daemon: GET \/_ping/);
    daemon.close();
  });

  it('answers the job\'s docker commands with the reason when the check fails, held ones and new ones, HEAD without a body', async () => {
    const dir = newDir();
    await fakeDaemon(dir);
    const gate = await openGate(dir);
    const held = request(join(dir, JOB_SOCKET), 'POST /v1.41/containers/create HTTP/1.1');
    await new Promise((r) => setTimeout(r, 50));
    const message = `setup-dind: ${cannotRunMessage('runc: exec failed', 'explicit-capabilities', 'every capability except SYS_RESOURCE')}`;
    gate.fail(message);
    const answer = await held;
    expect(answer).toMatch(/^HTTP\/1.1 500 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toEqual({ message });
    expect(message).toMatch(/^setup-dind: the daemon answers but cannot run a container \(runc: exec failed\)\. Its container runs with every capability except SYS_RESOURCE\. Use a runner whose engine allows privileged/);
    expect(await request(join(dir, JOB_SOCKET), 'GET /v1.41/version HTTP/1.1')).toContain(JSON.stringify({ message }));
    const head = await request(join(dir, JOB_SOCKET), 'HEAD /_ping HTTP/1.1');
    expect(head).toMatch(/^HTTP\/1.1 500 [\s\S]*\r\n\r\n$/);
    // dockerd itself is never reached through the job's socket.
    expect(lstatSync(join(dir, JOB_SOCKET)).ino).not.toBe(lstatSync(join(dir, DAEMON_SOCKET)).ino);
    gate.close();
  });

  it('a failed gate ends when dockerd\'s socket stops answering (the daemon\'s container is gone)', async () => {
    const dir = newDir();
    const daemon = await fakeDaemon(dir);
    const gate = await openGate(dir);
    gate.fail('setup-dind: no');
    daemon.close();
    const deadline = Date.now() + 15_000;
    let answer = '';
    while (Date.now() < deadline) {
      answer = await request(join(dir, JOB_SOCKET));
      if (answer.startsWith('error')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Nobody listens any more (a connection accepted just as it closed is reset instead).
    expect(answer).toMatch(/^error: (ECONNREFUSED|ECONNRESET)$/);
  });

  it('main opens it itself when it ran the probe (no helper): dockerd\'s socket at the job\'s, replacing a dead gate', async () => {
    const dir = newDir();
    await fakeDaemon(dir);
    const gate = await openGate(dir);
    gate.close();
    linkDaemonSocket(dir);
    expect(await request(join(dir, JOB_SOCKET))).toMatch(/daemon: GET \/_ping/);
    expect(existsSync(join(dir, `${JOB_SOCKET}.${process.pid}.link`))).toBe(false);
  });

  it('opens in a job directory whose socket path is as long as a socket path may be', async () => {
    const base = newDir();
    // 107 bytes with "/docker.sock": the longest the action accepts (dind.ts MAX_SOCKET_PATH_BYTES).
    const dir = join(base, 'x'.repeat(107 - base.length - 2 - JOB_SOCKET.length));
    mkdirSync(dir);
    expect(Buffer.byteLength(join(dir, JOB_SOCKET))).toBe(107);
    // dockerd's own socket there too: the action reaches it as it reaches the job's.
    await fakeDaemon(dir);
    const gate = await openGate(dir);
    expect(jobSocketExists(dir)).toBe(true);
    gate.pass();
    expect(await request(join(dir, JOB_SOCKET))).toMatch(/daemon: GET \/_ping/);
    expect(await request(join(dir, DAEMON_SOCKET))).toMatch(/daemon: GET \/_ping/);
    gate.close();
  });

  it('names the minimal set\'s own remedy', () => {
    expect(cannotRunMessage('x', 'minimal-capabilities', undefined)).toBe(
      'the daemon answers but cannot run a container (x). privileged: false grants only the minimal set, and this engine needs more: use privileged: auto (or true), runtime: sysbox-runc where Sysbox is installed, or mode: socket.',
    );
  });
});
