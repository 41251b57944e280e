import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError, type EngineClient } from '../engine/client.js';
import { memoryPlatform } from '../platform/memory.js';
import { StateRecorder } from '../state.js';
import { type EndDeps, endStaleHelpers, isOurHelper, reserveJobPorts, watchLifeline } from './isolation.js';
import type { ReserveDeps } from './port-range.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sd-isolation-'));
  dirs.push(d);
  return d;
};
const GUARD = { outer: { host: 'unix:///var/run/docker.sock' }, container: 'c0ffee0123456789' };

describe('helpers end with their daemon', () => {
  const waitAnswers = (wait: () => Promise<number>) => ({ waitContainer: wait, close: () => undefined }) as unknown as EngineClient;

  it('when the daemon\'s container stops or is gone, or the job directory disappears', async () => {
    const dir = tempDir();
    const why = (engine: EngineClient, d = dir) => new Promise<string>((resolve) => watchLifeline(GUARD, d, resolve, { engine, pollMs: 20 }));
    expect(await why(waitAnswers(async () => 137))).toBe("the daemon's container c0ffee012345 stopped (exit code 137)");
    expect(await why(waitAnswers(() => Promise.reject(new EngineError('no such container', 404))))).toBe("the daemon's container c0ffee012345 is gone");
    const gone = join(dir, 'job');
    mkdirSync(gone);
    const pending = why(waitAnswers(() => new Promise<number>(() => undefined)), gone);
    rmSync(gone, { recursive: true });
    expect(await pending).toBe(`the job directory ${gone} is gone`);
    // An engine that stops answering: its containers count as gone after a few tries.
    expect(await why(waitAnswers(() => Promise.reject(new Error('connect ECONNREFUSED'))))).toMatch(/does not answer \(connect ECONNREFUSED\)/);
  });

  it('and stop watching when asked, without calling back', async () => {
    const dir = join(tempDir(), 'job');
    mkdirSync(dir);
    let called = false;
    let closed = false;
    const engine = { waitContainer: () => new Promise<number>(() => undefined), close: () => (closed = true) } as unknown as EngineClient;
    const stop = watchLifeline(GUARD, dir, () => (called = true), { engine, pollMs: 10 });
    stop();
    rmSync(dir, { recursive: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(called).toBe(false);
    expect(closed).toBe(true);
  });
});

describe('reserveJobPorts', () => {
  function setup(inputs: Record<string, string>) {
    const platform = memoryPlatform();
    const state = new StateRecorder(platform.state);
    state.begin({ session: 's1', mode: 'dind' });
    const dir = tempDir();
    const deps = (): ReserveDeps => ({ dir, hostRange: { start: 32768, end: 60999 }, bound: () => new Set(), argvOf: () => undefined });
    return { platform, state, run: () => reserveJobPorts({ forwardPorts: inputs['forward-ports'] !== 'false', rootless: inputs.rootless === 'true', state, jobDir: '/j', log: platform.log, deps }) };
  }
  it('reserves a block for a job whose ports are forwarded, and records it in state', () => {
    const { state, run } = setup({});
    expect(run()).toEqual({ 'net.ipv4.ip_local_port_range': '61000 61127' });
    expect(state.value?.ports).toMatchObject({ start: 61000, end: 61127 });
  });
  it('reserves nothing when ports are not forwarded to 127.0.0.1, or with a rootless image (rootlesskit picks them)', () => {
    for (const inputs of [{ 'forward-ports': 'false' }, { rootless: 'true' }] as Record<string, string>[]) {
      const { state, run } = setup(inputs);
      expect(run()).toBeUndefined();
      expect(state.value?.ports).toBeUndefined();
    }
  });
});

describe('cleanup-stale ends the background processes of dead jobs', () => {
  function scene() {
    const dir = tempDir();
    const processes: Record<number, string[]> = {};
    const signals: string[] = [];
    const removedDirs: string[] = [];
    const deps: ReserveDeps = { dir, hostRange: { start: 32768, end: 60999 }, bound: () => new Set(), argvOf: (pid) => processes[pid] };
    const end: EndDeps = {
      deps,
      kill: (pid, signal) => {
        signals.push(`${signal} ${pid}`);
        delete processes[pid];
      },
      alive: (pid) => pid in processes,
      removeDir: (d) => removedDirs.push(d),
    };
    const entry = (session: string, start: number, pid: number, argv: string[]) => {
      processes[pid] = argv;
      writeFileSync(join(dir, `${start}-${start + 127}.json`), JSON.stringify({ start, end: start + 127, session, jobDir: `/nonexistent/setup-dind-${session}`, holder: { pid, argv } }));
    };
    return { dir, processes, signals, removedDirs, end, entry };
  }
  const forwarderOf = (session: string) => ['node', '/a/dist/pre/index.js', '--setup-dind-forwarder', `/nonexistent/setup-dind-${session}/forwarder.json`];

  it('signals only a verified helper of a reaped session, and removes its entry', async () => {
    const s = scene();
    s.entry('dead', 61000, 101, forwarderOf('dead'));
    s.entry('alive', 61128, 102, forwarderOf('alive'));
    // The reaped session's recorded pid runs something else now (a reused pid): never signalled.
    s.entry('reused', 61256, 103, forwarderOf('reused'));
    s.processes[103] = ['sleep', '1000'];
    const ended = await endStaleHelpers(new Set(['dead', 'reused']), memoryPlatform().log, s.end);
    expect(s.signals).toEqual(['SIGTERM 101']);
    expect(ended).toEqual(['process 101 (port forwarder of dead)']);
    expect(readdirSync(s.dir).sort()).toEqual(['61128-61255.json']);
  });

  it('leaves a live holder that is not one of our helpers (a job still starting) alone', async () => {
    const s = scene();
    s.entry('starting', 61000, 201, ['node', '/a/dist/pre/index.js']);
    expect(await endStaleHelpers(new Set(['starting']), memoryPlatform().log, s.end)).toEqual([]);
    expect(s.signals).toEqual([]);
    expect(readdirSync(s.dir)).toEqual(['61000-61127.json']);
  });

  it('knows our helpers by flag and job directory, not by name', () => {
    expect(isOurHelper(forwarderOf('a'), '/nonexistent/setup-dind-a')).toBe(true);
    expect(isOurHelper(['node', 'x', '--setup-dind-run-check', '/nonexistent/setup-dind-a/run-check.json'], '/nonexistent/setup-dind-a')).toBe(true);
    expect(isOurHelper(forwarderOf('a'), '/nonexistent/setup-dind-b')).toBe(false);
    expect(isOurHelper(['setup-dind-forwarder'], '/nonexistent/setup-dind-a')).toBe(false);
    expect(isOurHelper(undefined, '/x')).toBe(false);
  });
});
