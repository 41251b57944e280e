// Every job's published ports are its own on the host. A dind daemon picks a published port that the user left open
// (`-p 80`, compose, testcontainers) from its own network namespace's net.ipv4.ip_local_port_range (moby's
// portallocator reads /proc/sys/net/ipv4/ip_local_port_range: 20.10, 26 and 28 alike), and a new namespace starts
// with the kernel's default, 32768-60999: every job's daemon would hand out 32768 first. The sysctl is per network
// namespace, so the daemon's container is created with a range of its own (HostConfig.Sysctls), a block of the
// host's port space that this job reserved: free when it was chosen, and claimed in a host-wide directory that every
// runner user can write (sticky, like /tmp), one file per block, created exclusively. An entry names the process that
// holds it (pid and command line: the phase while it starts the daemon, then the port forwarder for the rest of the
// job); an entry whose holder is gone, or is another program by now, is stale and may be taken over. Entries are
// kept per network namespace: 127.0.0.1 is that namespace's (a container job has its own).
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, chmodSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { alive } from './helper-process.js';

/** Ports per job: dockerd's ephemeral ports (and its own outgoing connections) come from these. */
export const BLOCK_SIZE = 128;
/** Below this a block would sit among well-known service ports. */
const LOWEST_PORT = 10_000;
/** The host-wide directory (a fixed path: every runner user of the host sees the same one). */
export const RESERVATIONS_ROOT = '/tmp';

export interface PortBlock {
  start: number;
  end: number;
}

/** Who holds a block: a process, known by its pid and its exact command line (argv). */
export interface Holder {
  pid: number;
  argv: string[];
}

export interface Reservation extends PortBlock {
  session: string;
  jobDir: string;
  holder: Holder;
}

/** What the job records in state: the entry's file, to hand it to the forwarder and remove it in post. */
export interface ReservationRecord extends PortBlock {
  file: string;
}

/** Parses ip_local_port_range ("32768\t60999"). */
export function parsePortRange(text: string): PortBlock | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const [start, end] = [Number(m[1]), Number(m[2])];
  return start >= 1 && start <= end && end <= 65535 ? { start, end } : undefined;
}

/**
 * The blocks to try, best first: above the host's own ephemeral range (the runner's engine and the host's outgoing
 * connections take ports from that range, so nothing there competes), then below it down to LOWEST_PORT, then,
 * only when neither has room, inside it. Each block starts on an even port and ends on an odd one (the kernel
 * prefers different parity for the two ends).
 */
export function candidateBlocks(host: PortBlock, size = BLOCK_SIZE): PortBlock[] {
  const blocks: PortBlock[] = [];
  const even = (n: number) => n + (n % 2);
  for (let s = even(host.end + 1); s + size - 1 <= 65535; s += size) blocks.push({ start: s, end: s + size - 1 });
  for (let e = host.start - 1; e - size + 1 >= LOWEST_PORT; e -= size) blocks.push({ start: e - size + 1, end: e });
  const inside: PortBlock[] = [];
  for (let s = even(host.start); s + size - 1 <= host.end; s += size) inside.push({ start: s, end: s + size - 1 });
  return [...blocks, ...inside];
}

/** Local TCP ports that something listens on (or is bound to), from /proc/net/tcp and tcp6 of this namespace. */
export function boundPorts(tables: string[]): Set<number> {
  const ports = new Set<number>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = [fields[1], fields[2], fields[3]];
      // 0A: LISTEN, 07: CLOSE (bound, not yet listening). Connections are not reservations.
      if (!local || (state !== '0A' && state !== '07')) continue;
      ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

export interface ReserveDeps {
  dir: string;
  hostRange: PortBlock;
  bound: () => Set<number>;
  /** The live command line of a pid, or undefined when it is gone. */
  argvOf: (pid: number) => string[] | undefined;
}

const sameArgv = (a: string[] | undefined, b: string[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** An entry is live while its holder runs the very command line it was recorded with. */
export function entryIsLive(entry: Reservation | undefined, argvOf: ReserveDeps['argvOf']): boolean {
  return entry !== undefined && sameArgv(argvOf(entry.holder.pid), entry.holder.argv);
}

const entryFile = (dir: string, b: PortBlock) => join(dir, `${b.start}-${b.end}.json`);

export function readEntry(file: string): Reservation | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Reservation;
  } catch {
    return undefined;
  }
}

/** Creates the entry only if no file has its name (O_EXCL); false when one does. */
function createExclusive(file: string, entry: Reservation): boolean {
  let fd;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, JSON.stringify(entry));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes over a stale entry: it goes only if the file is still the one found stale (same inode); a sticky directory
 * lets only its owner remove it, so another user's stale entry stays and its block is skipped.
 */
function removeStale(file: string, ino: number): boolean {
  try {
    if (lstatSync(file).ino !== ino) return false;
    unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reserves the first block that no live entry holds and where nothing listens now. Undefined when none is left
 * (the daemon then keeps the kernel's default range, and ports may collide as before: the caller warns).
 */
export function reserveBlock(o: { session: string; jobDir: string; holder: Holder }, deps: ReserveDeps): ReservationRecord | undefined {
  const bound = deps.bound();
  for (const block of candidateBlocks(deps.hostRange)) {
    const file = entryFile(deps.dir, block);
    const entry: Reservation = { ...block, session: o.session, jobDir: o.jobDir, holder: o.holder };
    let created = createExclusive(file, entry);
    if (!created) {
      const ino = (() => {
        try {
          return lstatSync(file).ino;
        } catch {
          return undefined;
        }
      })();
      if (ino === undefined || entryIsLive(readEntry(file), deps.argvOf) || !removeStale(file, ino)) continue;
      created = createExclusive(file, entry);
      if (!created) continue;
    }
    let taken = false;
    for (let p = block.start; p <= block.end && !taken; p++) taken = bound.has(p);
    if (!taken) return { ...block, file };
    unlinkSync(file); // something else listens in this block: leave it alone
  }
  return undefined;
}

/** Hands the entry to a new holder (the port forwarder), replacing the file whole (a rename: never half-written). */
export function handOver(record: ReservationRecord, holder: Holder): void {
  const entry = readEntry(record.file);
  if (!entry) return;
  const tmp = `${record.file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...entry, holder }), { mode: 0o644 });
  renameSync(tmp, record.file);
}

/** Post: the entry goes (only ours: the session in it must be this job's). */
export function releaseBlock(record: ReservationRecord, session: string): boolean {
  if (readEntry(record.file)?.session !== session) return false;
  try {
    unlinkSync(record.file);
    return true;
  } catch {
    return false;
  }
}

/** The sysctl that gives the daemon's namespace the block. */
export const rangeSysctl = (b: PortBlock): Record<string, string> => ({ 'net.ipv4.ip_local_port_range': `${b.start} ${b.end}` });

// --- this host, for real ---

/** A pid's command line, or undefined when it is gone or a zombie. */
export function argvOf(pid: number): string[] | undefined {
  if (!alive(pid)) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** The host-wide directory of this network namespace's reservations, created sticky and writable by every user. */
export function reservationsDir(root = process.env.SETUP_DIND_PORT_RESERVATIONS || RESERVATIONS_ROOT): string {
  let ns = 'default';
  try {
    ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? ns;
  } catch {
    /* no namespace link: one directory */
  }
  const dir = join(root, `setup-dind-ports-${ns}`);
  try {
    mkdirSync(dir, { mode: 0o1777 });
    chmodSync(dir, 0o1777);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  // Another user's symlink or file under that name: not ours to trust.
  if (!st.isDirectory() || (st.mode & 0o1002) !== 0o1002) throw new Error(`${dir} is not a sticky directory every user can write (mode ${(st.mode & 0o7777).toString(8)})`);
  return dir;
}

const readOr = (path: string, fallback: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
};

export function hostDeps(dir = reservationsDir()): ReserveDeps {
  return {
    dir,
    hostRange: parsePortRange(readOr('/proc/sys/net/ipv4/ip_local_port_range', '')) ?? { start: 32768, end: 60999 },
    bound: () => boundPorts([readOr('/proc/net/tcp', ''), readOr('/proc/net/tcp6', '')]),
    argvOf,
  };
}

/** This process as a holder. */
export const selfHolder = (): Holder => ({ pid: process.pid, argv: argvOf(process.pid) ?? process.argv });
