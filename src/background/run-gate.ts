// The run check off the path to "ready". A daemon without --privileged must prove it can run a container (run-probe.ts)
// before the job uses it, and that proof costs a container start inside the new daemon (0.4 s here). Instead of
// main waiting for it, the job's socket is gated:
// - dockerd listens on DAEMON_SOCKET in the job directory, which only the action uses (main's readiness wait, the
//   probe, the forwarder);
// - the job's socket (JOB_SOCKET, what DOCKER_HOST names) is first a gate: the background run check listens there
//   and holds every connection until its verdict;
// - passed: dockerd's own socket is linked in its place (atomically: a new link renamed over the gate), so later
//   connections reach dockerd directly, and the ones held meanwhile are relayed to it;
// - failed: every request on the job's socket is answered with the check's error, what the daemon's container was
//   granted and the remedy (the docker CLI prints it as "Error response from daemon: setup-dind: ..."), so the job's
//   first docker command fails with the reason instead of the runtime's error; main fails with it too when the
//   verdict is in before main ends.
// The gate ends when dockerd's socket stops answering (the daemon's container is gone).
import { chmodSync, linkSync, lstatSync, renameSync, rmSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';

/** dockerd's own socket in the job directory when the job's socket is gated. */
export const DAEMON_SOCKET = 'daemon.sock';
/** The job's socket in the job directory (DOCKER_HOST). */
export const JOB_SOCKET = 'docker.sock';
const GONE_CHECK_MS = 2000;

/** What the gate says when the check fails, beside the check's own error. */
export interface GateConfig {
  jobDir: string;
  privilege: string | undefined;
  grant: string | undefined;
}

/** The error of a daemon that answers but cannot run a container: what it was granted and the remedy. */
export function cannotRunMessage(error: string | undefined, privilege: string | undefined, grant: string | undefined): string {
  const granted = grant ? ` Its container runs with ${grant}.` : '';
  const remedy = privilege === 'minimal-capabilities'
    ? 'privileged: false grants only the minimal set, and this engine needs more: use privileged: auto (or true), runtime: sysbox-runc where Sysbox is installed, or mode: socket.'
    : 'Use a runner whose engine allows privileged containers, runtime: sysbox-runc where Sysbox is installed, or mode: socket.';
  return `the daemon answers but cannot run a container (${error}).${granted} ${remedy}`;
}

const inode = (path: string) => {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? st.ino : undefined;
  } catch {
    return undefined;
  }
};

/** The job's socket is in place: the gate, or dockerd's own. */
export const jobSocketExists = (jobDir: string) => inode(join(jobDir, JOB_SOCKET)) !== undefined;

/** Puts dockerd's own socket at the job's socket, unless it is there already (the check's process did it). */
export function ensureDaemonSocket(jobDir: string): void {
  const daemon = inode(join(jobDir, DAEMON_SOCKET));
  if (daemon === undefined || daemon !== inode(join(jobDir, JOB_SOCKET))) linkDaemonSocket(jobDir);
}

/** Puts dockerd's own socket at the job's socket, replacing whatever is there (the gate) in one step. */
export function linkDaemonSocket(jobDir: string): void {
  const tmp = join(jobDir, `${JOB_SOCKET}.${process.pid}.link`);
  rmSync(tmp, { force: true });
  linkSync(join(jobDir, DAEMON_SOCKET), tmp);
  renameSync(tmp, join(jobDir, JOB_SOCKET));
}

/** An HTTP error answer for every request on the connection; HEAD requests get no body. */
function answerWithError(socket: Socket, first: Buffer, message: string): void {
  let head = first;
  const body = Buffer.from(`${JSON.stringify({ message })}\n`);
  const answer = () => {
    const isHead = head.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(Buffer.concat([
      Buffer.from(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
      isHead ? Buffer.alloc(0) : body,
    ]));
  };
  // Answer once the request's head is in; what follows (a body) is read and dropped, so closing resets nothing.
  if (head.includes('\r\n\r\n')) return answer();
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    if (head.includes('\r\n\r\n') || head.length > 65536) {
      socket.off('data', onData);
      socket.on('data', () => undefined);
      answer();
    }
  };
  socket.on('data', onData);
}

export interface Gate {
  /** The check passed: dockerd's socket takes the job's place; held connections are relayed to it. */
  pass(): void;
  /** The check failed: every request on the job's socket gets `message`, until dockerd's socket stops answering. */
  fail(message: string): void;
  /** No verdict (the daemon never answered): the gate stops holding. */
  close(): void;
}

const answers = (path: string) => new Promise<boolean>((resolve) => {
  const s = connect(path);
  s.once('connect', () => (s.destroy(), resolve(true)));
  s.once('error', () => resolve(false));
});

/** Listens on the job's socket (put in place by rename, so it never is missing once it exists) and holds. */
export async function openGate(jobDir: string): Promise<Gate> {
  const daemonSocket = join(jobDir, DAEMON_SOCKET);
  const held = new Map<Socket, Buffer[]>();
  let verdict: { ok: true } | { ok: false; message: string } | undefined;
  const relay = (client: Socket, buffered: Buffer[]) => {
    const upstream = connect(daemonSocket);
    for (const b of buffered) upstream.write(b);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.once('error', end).once('close', end);
    upstream.once('error', end).once('close', end);
  };
  const settle = (client: Socket, buffered: Buffer[]) => {
    client.removeAllListeners('data');
    if (verdict!.ok) relay(client, buffered);
    else answerWithError(client, Buffer.concat(buffered), verdict!.message);
  };
  const server: Server = createServer((client) => {
    client.on('error', () => client.destroy());
    const buffered: Buffer[] = [];
    if (verdict) return settle(client, buffered);
    held.set(client, buffered);
    client.on('data', (b) => buffered.push(b));
    client.once('close', () => held.delete(client));
  });
  // A name of our own first (a socket is made where it is bound), then renamed to the job's socket; no longer than
  // the job's socket's name (socket paths are short, see dind.ts).
  const ownPath = join(jobDir, `.g${process.pid % 1e8}`);
  rmSync(ownPath, { force: true });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ownPath, () => resolve()));
  // As dockerd makes its socket: the user and their group (dockerd's --group is the runner's group), nobody else.
  chmodSync(ownPath, 0o660);
  renameSync(ownPath, join(jobDir, JOB_SOCKET));
  const release = () => {
    for (const [client, buffered] of held) settle(client, buffered);
    held.clear();
  };
  return {
    pass: () => {
      verdict = { ok: true };
      linkDaemonSocket(jobDir);
      release();
      // A connection made just before the link is still in the listener's queue: accepted (and relayed) before it closes.
      setTimeout(() => server.close(), 1000);
    },
    fail: (message) => {
      verdict = { ok: false, message };
      release();
      const timer = setInterval(() => {
        void answers(daemonSocket).then((up) => {
          if (up) return;
          clearInterval(timer);
          server.close();
        });
      }, GONE_CHECK_MS);
    },
    close: () => {
      server.close();
      for (const client of held.keys()) client.destroy();
      held.clear();
    },
  };
}
