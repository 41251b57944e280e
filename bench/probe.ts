// Probes (does a daemon answer? a free port) and the run's own processes and mounts, found by its unique directory.
// Moved from bench/harness.ts (which re-exports it).
import http from 'node:http';
import https from 'node:https';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { run, sleep, now } from './measure.js';

export interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

export function get(target: Target, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const where = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = (target.tls ? https : http).request({ method: 'GET', path, agent: false, timeout: timeoutMs, ...where, ...(target.tls ?? {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The action's bar: /_ping answers OK, then /version answers with a version. */
export async function answers(target: Target): Promise<boolean> {
  try {
    const ping = await get(target, '/_ping', 1000);
    if (ping.status !== 200 || ping.body.trim() !== 'OK') return false;
    const version = await get(target, '/version', 1000);
    return version.status === 200 && typeof (JSON.parse(version.body) as { Version?: unknown }).Version === 'string';
  } catch {
    return false;
  }
}

/** Milliseconds from t0 until the target answers (polled every pollMs); `dead()`, checked each second, ends the wait. */
export async function waitUntilAnswers(target: () => Target | undefined, t0: number, dead: () => Promise<string | undefined>, pollMs = 10, limitMs = 120_000): Promise<number> {
  let lastCheck = now();
  for (;;) {
    const t = target();
    if (t && (await answers(t))) return now() - t0;
    if (now() - t0 > limitMs) throw new Error(`no answer within ${limitMs / 1000} s`);
    if (now() - lastCheck > 1000) {
      lastCheck = now();
      const reason = await dead();
      if (reason) throw new Error(reason);
    }
    await sleep(pollMs);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------------------------------------------------------
// Our processes and mounts (found by our unique directory), never anything else

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(`${dir}/`)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Stops our processes under `dir` (TERM, then KILL after 5 s), unmounts what is mounted below it, removes it. */
export async function removeDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const pids = processesUnder(dir);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGTERM');
  const deadline = now() + 5000;
  while (now() < deadline && pids.some(alive)) await sleep(20);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`)).reverse();
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
