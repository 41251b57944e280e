// Processes: small process utilities, the users a job can run as (resolveUser, ensureUser), one spawned step process
// (RunningProcess: output streams, cancellation signals, held-open pipes) and the orphan cleanup at the end of a job.
// Moved from runner.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { OrphanProcess } from './runner-types.js';

// =============================================================================================
// Small utilities

export const execFileP = (
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string; code: number }> =>
  new Promise((resolve) => {
    const o = { encoding: 'utf8' as const, env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 };
    execFile(file, args, o, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function which(name: string, pathVar: string): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (existsSync(candidate)) return candidate;
    } catch {
      /* ignore */
    }
  }
  return undefined;
}

export function systemTool(name: string): string {
  const found = which(name, `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
  if (!found) throw new Error(`harness: '${name}' not found`);
  return found;
}

export function setCaseInsensitive(obj: Record<string, string>, key: string, value: string): void {
  const existing = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  obj[existing ?? key] = value;
}

export function hasKeyCaseInsensitive(obj: Record<string, unknown>, key: string): boolean {
  return Object.keys(obj).some((k) => k.toLowerCase() === key.toLowerCase());
}

export async function chownRecursive(p: string, uid: number, gid: number): Promise<void> {
  await fsp.lchown(p, uid, gid);
  const st = await fsp.lstat(p);
  if (st.isDirectory()) {
    for (const entry of await fsp.readdir(p)) await chownRecursive(path.join(p, entry), uid, gid);
  }
}

// =============================================================================================
// Users

export interface ResolvedUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export async function resolveUser(name: string): Promise<ResolvedUser> {
  const id = systemTool('id');
  const u = await execFileP(id, ['-u', name]);
  const g = await execFileP(id, ['-g', name]);
  if (u.code !== 0 || g.code !== 0) throw new Error(`harness: user '${name}' does not exist (${u.stderr.trim()})`);
  const pw = await execFileP(systemTool('getent'), ['passwd', name]);
  const home = pw.stdout.trim().split(':')[5];
  if (!home) throw new Error(`harness: no passwd entry for '${name}'`);
  return { name, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()), home };
}

/**
 * A test user's name for this run: the base name plus SETUP_DIND_TEST_USER_SUFFIX (set by scripts/test.sh), so two
 * runs on one machine never share, or delete, each other's users.
 */
export function testUserName(base: string): string {
  return `${base}${process.env.SETUP_DIND_TEST_USER_SUFFIX ?? ''}`;
}

/**
 * Create a system user with a home directory and a bash login shell (`useradd --system
 * --create-home --shell /bin/bash`), member of the given existing groups; if the user exists, only
 * add the missing group memberships. Idempotent and safe to call from parallel test files. Root only.
 */
export async function ensureUser(name: string, groups: string[] = []): Promise<void> {
  for (const g of groups) {
    const r = await execFileP(systemTool('getent'), ['group', g]);
    if (r.code !== 0) throw new Error(`ensureUser: group '${g}' does not exist`);
  }
  const id = systemTool('id');
  const retrying = async (file: string, args: string[], okCodes: number[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const r = await execFileP(file, args);
      if (r.code === 0 || okCodes.includes(r.code)) return;
      // 10 = cannot lock /etc/passwd (another useradd/usermod is running)
      if (r.code === 10 && attempt < 50) {
        await sleep(100);
        continue;
      }
      throw new Error(`ensureUser: ${path.basename(file)} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    }
  };
  if ((await execFileP(id, ['-u', name])).code !== 0) {
    const args = ['--system', '--create-home', '--shell', '/bin/bash'];
    if (groups.length > 0) args.push('--groups', groups.join(','));
    args.push(name);
    await retrying(systemTool('useradd'), args, [9 /* already exists: lost a race */]);
    // scripts/test.sh removes the users listed here when the run ends, pass or fail.
    const list = process.env.SETUP_DIND_TEST_USERS;
    if (list) await fsp.appendFile(list, `${name}\n`);
  }
  const current = (await execFileP(id, ['-nG', name])).stdout.trim().split(/\s+/);
  for (const g of groups) {
    if (!current.includes(g)) await retrying(systemTool('usermod'), ['-aG', g, name], []);
  }
}

// =============================================================================================

// Processes

export interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  outputStreamsHeldOpen: boolean;
  spawnError?: string;
  durationMs: number;
}

/** All descendants of pid (children first-level to deepest), from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fsp.readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

export function killQuietly(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export class RunningProcess {
  readonly child: ChildProcess;
  readonly done: Promise<ProcessOutcome>;
  readonly signalsSent: NodeJS.Signals[] = [];
  exited = false;
  finished = false;
  private resolveDone!: (o: ProcessOutcome) => void;
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private openStreams = 2;
  private heldOpen = false;
  private timedOut = false;
  private spawnError: string | undefined;
  private readonly started = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    file: string,
    args: string[],
    opts: {
      cwd: string;
      env: Record<string, string>;
      user?: ResolvedUser;
      timeoutMs: number;
      streamCloseTimeoutMs: number;
      onText: (stream: 'stdout' | 'stderr', text: string) => void;
      onEnd: (stream: 'stdout' | 'stderr') => void;
    },
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    let cmd = file;
    let argv = args;
    if (opts.user) {
      cmd = systemTool('setpriv');
      argv = ['--reuid', String(opts.user.uid), '--regid', String(opts.user.gid), '--init-groups', '--', file, ...args];
    }
    this.child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // the runner closes stdin right away so nothing blocks waiting for input
    this.child.stdin?.on('error', () => {});
    this.child.stdin?.end();

    const pid = this.child.pid;
    if (pid !== undefined) {
      let adj = 500;
      const fromEnv = opts.env.PIPELINE_JOB_OOMSCOREADJ;
      if (fromEnv !== undefined && /^-?\d+$/.test(fromEnv) && Number(fromEnv) >= -1000 && Number(fromEnv) <= 1000) adj = Number(fromEnv);
      fsp.writeFile(`/proc/${pid}/oom_score_adj`, String(adj)).catch(() => {});
    }

    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.child[name]!;
      const decoder = new StringDecoder('utf8');
      stream.on('data', (b: Buffer) => opts.onText(name, decoder.write(b)));
      stream.on('error', () => {});
      stream.on('close', () => {
        const rest = decoder.end();
        if (rest) opts.onText(name, rest);
        opts.onEnd(name);
        this.openStreams--;
        if (this.exited && this.openStreams === 0) this.finish();
      });
    }

    this.child.on('error', (err) => {
      this.spawnError = err.message;
      this.exited = true;
      this.finish();
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      if (this.openStreams === 0) {
        this.finish();
        return;
      }
      // ProcessInvoker.ProcessExitedHandler: streams still open -> wait 5 s, kill, stop waiting
      this.timers.push(
        setTimeout(() => {
          if (this.finished) return;
          this.heldOpen = true;
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
          this.finish();
        }, opts.streamCloseTimeoutMs),
      );
    });

    this.timers.push(
      setTimeout(() => {
        if (this.finished) return;
        this.timedOut = true;
        void (async () => {
          // harness safeguard (not runner behaviour): the whole tree, so nothing keeps the pipes open
          const tree = pid !== undefined ? await descendants(pid) : [];
          this.signal('SIGTERM');
          for (const p of tree) killQuietly(p, 'SIGTERM');
          if (await this.waitDone(2500)) return;
          if (pid !== undefined) {
            for (const p of [pid, ...tree, ...(await descendants(pid))]) killQuietly(p, 'SIGKILL');
          }
          this.signalsSent.push('SIGKILL');
          if (!(await this.waitDone(2000))) {
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
            this.finish();
          }
        })();
      }, opts.timeoutMs),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.resolveDone({
      exitCode: this.exitCode,
      signal: this.exitSignal,
      timedOut: this.timedOut,
      outputStreamsHeldOpen: this.heldOpen,
      spawnError: this.spawnError,
      durationMs: Date.now() - this.started,
    });
  }

  /** Send a signal to the process itself (not its group), like the runner's kill(pid, sig). */
  signal(sig: NodeJS.Signals): boolean {
    if (this.exited || this.child.pid === undefined) return false;
    this.signalsSent.push(sig);
    return killQuietly(this.child.pid, sig);
  }

  /** Resolves true once the process is done (exited and output closed, or the 5 s grace passed). */
  async waitDone(ms: number): Promise<boolean> {
    if (this.finished) return true;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
    const r = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(t);
    return r;
  }

  /** ProcessInvoker.CancelAndKillProcessTree: SIGINT, wait, SIGTERM, wait, SIGKILL the process. */
  async cancel(sigintTimeoutMs: number, sigtermTimeoutMs: number): Promise<void> {
    if (this.exited) return;
    if (this.signal('SIGINT') && (await this.waitDone(sigintTimeoutMs))) return;
    if (this.signal('SIGTERM') && (await this.waitDone(sigtermTimeoutMs))) return;
    this.signal('SIGKILL');
  }
}

/** Splits text into lines like .NET StreamReader.ReadLine (\n, \r\n and a lone \r end a line). */
export class LineSplitter {
  private buf = '';
  push(chunk: string, final = false): string[] {
    this.buf += chunk;
    const out: string[] = [];
    const b = this.buf;
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i);
      if (c === 10) {
        out.push(b.slice(start, i));
        start = i + 1;
      } else if (c === 13) {
        if (i + 1 < b.length) {
          out.push(b.slice(start, i));
          if (b.charCodeAt(i + 1) === 10) i++;
          start = i + 1;
        } else if (final) {
          out.push(b.slice(start, i));
          start = i + 1;
        } else {
          break;
        }
      }
    }
    this.buf = b.slice(start);
    if (final && this.buf !== '') {
      out.push(this.buf);
      this.buf = '';
    }
    return out;
  }
}

// =============================================================================================
// Orphan cleanup ("Cleaning up orphan processes" in JobExtension.FinalizeJob)

export async function killOrphans(trackingId: string): Promise<OrphanProcess[]> {
  const killed: OrphanProcess[] = [];
  const needle = `RUNNER_TRACKING_ID=${trackingId}`;
  for (const entry of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = await fsp.readFile(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(needle)) continue;
      const name = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      const cmdline = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
      if (killQuietly(pid, 'SIGKILL')) killed.push({ pid, name, cmdline });
    } catch {
      /* not readable or gone */
    }
  }
  // give the kernel a moment so tests can assert the processes are gone
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && killed.some((k) => isAlive(k.pid))) await sleep(20);
  return killed;
}

/** Alive and not a zombie (a zombie only waits to be reaped by its parent). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export async function hasMountsBelow(dir: string): Promise<boolean> {
  const real = await fsp.realpath(dir);
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((l) => {
    const mp = l.split(' ')[4];
    return mp !== undefined && (mp === real || mp.startsWith(real + '/'));
  });
}
