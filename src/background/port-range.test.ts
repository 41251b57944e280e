import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, type Holder, type ReserveDeps, boundPorts, candidateBlocks, handOver, parsePortRange, rangeSysctl, readEntry, releaseBlock, reserveBlock } from './port-range.js';

const HOST = { start: 32768, end: 60999 };

describe('the port choice', () => {
  it('reads ip_local_port_range', () => {
    expect(parsePortRange('32768\t60999\n')).toEqual(HOST);
    expect(parsePortRange('1024 65535')).toEqual({ start: 1024, end: 65535 });
    expect(parsePortRange('60999 32768')).toBeUndefined();
    expect(parsePortRange('')).toBeUndefined();
  });

  it('takes blocks above the host\'s ephemeral range first, then below it, and only then inside it', () => {
    const blocks = candidateBlocks(HOST);
    expect(blocks[0]).toEqual({ start: 61000, end: 61000 + BLOCK_SIZE - 1 });
    const above = blocks.filter((b) => b.start > HOST.end);
    const below = blocks.filter((b) => b.end < HOST.start);
    const inside = blocks.filter((b) => b.start >= HOST.start && b.end <= HOST.end);
    expect(above.length + below.length + inside.length).toBe(blocks.length);
    // In that order, none overlapping, every one of BLOCK_SIZE ports, none past 65535 or below 10000.
    expect(blocks.indexOf(below[0]!)).toBe(above.length);
    expect(below[0]).toEqual({ start: HOST.start - BLOCK_SIZE, end: HOST.start - 1 });
    for (const b of blocks) {
      expect(b.end - b.start + 1).toBe(BLOCK_SIZE);
      expect(b.end).toBeLessThanOrEqual(65535);
      expect(b.start).toBeGreaterThanOrEqual(10_000);
      // The kernel prefers ends of different parity.
      expect((b.start + b.end) % 2).toBe(1);
    }
    const sorted = [...blocks].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThan(sorted[i - 1]!.end);
    // A host whose own range covers everything: blocks inside it are all there is.
    expect(candidateBlocks({ start: 1024, end: 65535 })[0]).toEqual({ start: 1024, end: 1024 + BLOCK_SIZE - 1 });
  });

  it('knows the ports something listens on or is bound to, not those of connections', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:EE48 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:EE49 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '   2: 00000000:EE4A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 1',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st',
      '   0: 00000000000000000000000001000000:EE4B 00000000000000000000000000000000:0000 0A 0',
    ].join('\n');
    expect([...boundPorts([tcp, tcp6])].sort()).toEqual([0xee48, 0xee4a, 0xee4b]);
  });

  it('gives the daemon its block as the namespaced sysctl', () => {
    expect(rangeSysctl({ start: 61000, end: 61127 })).toEqual({ 'net.ipv4.ip_local_port_range': '61000 61127' });
  });
});

describe('reservations', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  /** A reservation directory, and processes that are alive with the command lines given. */
  function host(processes: Record<number, string[]> = {}, bound = new Set<number>()): ReserveDeps & { processes: Record<number, string[]> } {
    const dir = mkdtempSync(join(tmpdir(), 'sd-ports-'));
    dirs.push(dir);
    return { dir, hostRange: HOST, bound: () => bound, argvOf: (pid) => processes[pid], processes };
  }
  const job = (session: string, holder: Holder) => ({ session, jobDir: `/runner/_temp/setup-dind-${session}`, holder });
  const pre = (pid: number): Holder => ({ pid, argv: ['node', '/a/dist/pre/index.js'] });

  it('gives concurrent jobs distinct blocks, each recorded with its holder', () => {
    const deps = host({ 10: pre(10).argv, 11: pre(11).argv, 12: pre(12).argv, 13: pre(13).argv });
    const got = [10, 11, 12, 13].map((pid) => reserveBlock(job(`s${pid}`, pre(pid)), deps)!);
    expect(got.map((r) => r.start)).toEqual([61000, 61128, 61256, 61384]);
    expect(new Set(got.map((r) => r.file)).size).toBe(4);
    expect(readEntry(got[1]!.file)).toMatchObject({ start: 61128, end: 61255, session: 's11', holder: pre(11) });
  });

  it('never takes a block whose holder runs, and takes over one whose holder is gone or runs something else now', () => {
    const deps = host({ 10: pre(10).argv, 11: pre(11).argv });
    const a = reserveBlock(job('a', pre(10)), deps)!;
    const b = reserveBlock(job('b', pre(11)), deps)!;
    // a's holder ended; b's pid now runs another program (a reused pid).
    delete deps.processes[10];
    deps.processes[11] = ['sleep', '100'];
    deps.processes[20] = pre(20).argv;
    const c = reserveBlock(job('c', pre(20)), deps)!;
    expect(c.start).toBe(a.start);
    expect(readEntry(c.file)?.session).toBe('c');
    deps.processes[21] = pre(21).argv;
    expect(reserveBlock(job('d', pre(21)), deps)!.start).toBe(b.start);
    // c is alive: the next job gets a fresh block.
    deps.processes[22] = pre(22).argv;
    expect(reserveBlock(job('e', pre(22)), deps)!.start).toBe(61256);
  });

  it('skips a block where something else listens, and leaves no entry for it', () => {
    const deps = host({ 10: pre(10).argv }, new Set([61050]));
    const r = reserveBlock(job('a', pre(10)), deps)!;
    expect(r.start).toBe(61128);
    expect(readdirSync(deps.dir)).toEqual(['61128-61255.json']);
  });

  it('says when no block is left', () => {
    const deps = host({ 10: pre(10).argv });
    for (const b of candidateBlocks(HOST)) writeFileSync(join(deps.dir, `${b.start}-${b.end}.json`), JSON.stringify({ ...b, session: 'x', jobDir: '/x', holder: pre(10) }));
    expect(reserveBlock(job('a', pre(10)), deps)).toBeUndefined();
  });

  it('hands the block to the forwarder, and post releases only its own session\'s entry', () => {
    const deps = host({ 10: pre(10).argv });
    const r = reserveBlock(job('a', pre(10)), deps)!;
    const forwarder: Holder = { pid: 30, argv: ['node', '/a/dist/pre/index.js', '--setup-dind-forwarder', '/runner/_temp/setup-dind-a/forwarder.json'] };
    handOver(r, forwarder);
    expect(readEntry(r.file)?.holder).toEqual(forwarder);
    // pre is gone, the forwarder holds it: still taken.
    delete deps.processes[10];
    deps.processes[30] = forwarder.argv;
    deps.processes[11] = pre(11).argv;
    expect(reserveBlock(job('b', pre(11)), deps)!.start).toBe(61128);
    expect(releaseBlock(r, 'b')).toBe(false);
    expect(readEntry(r.file)?.session).toBe('a');
    expect(releaseBlock(r, 'a')).toBe(true);
    expect(readEntry(r.file)).toBeUndefined();
  });
});
