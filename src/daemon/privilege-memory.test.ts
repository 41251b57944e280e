import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerSpec, DaemonInfo, EngineClient } from '../engine/client.js';
import { INPUT_DEFAULTS, type InputName, parseInputs } from '../inputs/inputs.js';
import { memoryPlatform } from '../platform/memory.js';
import { StateRecorder } from '../state.js';
import { startFirstAccepted } from './dind.js';
import { MEMORY_TTL_MS, memoryDir, privilegeMemory } from './privilege-memory.js';

const info = (engine: Partial<DaemonInfo['engine']> = {}): DaemonInfo => ({
  storageDriver: 'overlay2', imageStore: 'classic', registryMirrors: [], cgroupVersion: '2', securityOptions: [],
  engine: { id: 'AAAA:BBBB', serverVersion: '20.10.24', kernelVersion: '6.18.44', operatingSystem: 'Debian', cgroupDriver: 'systemd', defaultRuntime: 'runc', ...engine },
});
const REFUSAL = 'starting container c1 failed: unable to apply caps: operation not permitted';

let roots: string[] = [];
const newDir = () => {
  const root = mkdtempSync(join(tmpdir(), 'sd-privmem-'));
  roots.push(root);
  return join(root, 'setup-dind', 'engines');
};
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});

describe('privilegeMemory', () => {
  it('lives in the user\'s cache directory, and can be turned off', () => {
    expect(memoryDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/setup-dind/engines');
    expect(memoryDir({ HOME: '/home/u' })).toBe('/home/u/.cache/setup-dind/engines');
    expect(memoryDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.cache/setup-dind/engines');
    expect(memoryDir({})).toBeUndefined();
    expect(memoryDir({ HOME: '/home/u', SETUP_DIND_ENGINE_MEMORY: 'off' })).toBeUndefined();
  });

  it('remembers a refusal for the same engine, in a private directory', () => {
    const dir = newDir();
    expect(privilegeMemory(dir, info())!.refusal).toBeUndefined();
    privilegeMemory(dir, info(), () => 1_000)!.remember(REFUSAL);
    expect(privilegeMemory(dir, info(), () => 2_000)!.refusal).toEqual({ error: REFUSAL, learnedAt: 1_000 });
    expect(readdirSync(dir)).toHaveLength(1);
    expect(readdirSync(join(dir, '..', '..'), { withFileTypes: true }).length).toBe(1);
  });

  it('asks again: another engine, a changed engine, an old answer, a clock set back, after forget', () => {
    const dir = newDir();
    privilegeMemory(dir, info(), () => 1_000_000)!.remember(REFUSAL);
    const at = (t: number, i = info()) => privilegeMemory(dir, i, () => t)!.refusal;
    expect(at(1_000_000 + MEMORY_TTL_MS - 1)).toBeDefined();
    expect(at(1_000_000 + MEMORY_TTL_MS)).toBeUndefined();
    expect(at(1_000_000 - 120_000)).toBeUndefined();
    expect(at(1_000_001, info({ id: 'CCCC:DDDD' }))).toBeUndefined();
    for (const change of [{ serverVersion: '28.5.1' }, { kernelVersion: '6.19' }, { defaultRuntime: 'sysbox-runc' }, { cgroupDriver: 'cgroupfs' }, { operatingSystem: 'Ubuntu' }]) {
      expect(at(1_000_001, info(change)), JSON.stringify(change)).toBeUndefined();
    }
    privilegeMemory(dir, info())!.forget();
    expect(at(1_000_001)).toBeUndefined();
    // No ID: nothing to remember it by.
    expect(privilegeMemory(dir, info({ id: '' }))).toBeUndefined();
  });

  it('never trusts what another user could have written: a writable directory or entry, a link', () => {
    const dir = newDir();
    privilegeMemory(dir, info())!.remember(REFUSAL);
    const [entry] = readdirSync(dir);
    const path = join(dir, entry!);
    chmodSync(path, 0o666);
    expect(privilegeMemory(dir, info())!.refusal).toBeUndefined();
    chmodSync(path, 0o600);
    expect(privilegeMemory(dir, info())!.refusal).toBeDefined();
    chmodSync(dir, 0o777);
    expect(privilegeMemory(dir, info())!.refusal).toBeUndefined();
    // Nor is anything written into such a directory.
    privilegeMemory(dir, info({ id: 'OTHER' }))!.remember(REFUSAL);
    expect(readdirSync(dir)).toHaveLength(1);
    chmodSync(dir, 0o700);
    const planted = join(dir, '..', 'planted.json');
    writeFileSync(planted, readFileSync(path), { mode: 0o600 });
    rmSync(path);
    symlinkSync(planted, path);
    expect(privilegeMemory(dir, info())!.refusal).toBeUndefined();
  });

  it('is silent when it cannot write (only time is lost)', () => {
    const root = newDir();
    mkdirSync(join(root, '..'), { recursive: true });
    writeFileSync(root, 'a file where the directory should be');
    expect(() => privilegeMemory(root, info())!.remember(REFUSAL)).not.toThrow();
    expect(privilegeMemory(root, info())!.refusal).toBeUndefined();
  });
});

describe('startFirstAccepted with the memory', () => {
  /** An engine that refuses --privileged (and `refuseOther` other starts), recording what it was asked. */
  function engine(refuseOther = 0) {
    const calls: string[] = [];
    let n = 0;
    const fake = {
      createContainer: async (spec: ContainerSpec) => (calls.push(`create ${spec.HostConfig.Privileged ? 'privileged' : (spec.HostConfig.CapAdd ?? []).includes('ALL') ? 'explicit' : 'minimal'}`), `c${++n}`),
      startContainer: async (id: string) => {
        calls.push(`start ${id}`);
        if (calls.at(-2) === 'create privileged') throw new Error(REFUSAL);
        if (refuseOther-- > 0) throw new Error('unable to apply caps: something else');
      },
      removeContainer: async (id: string) => void calls.push(`remove ${id}`),
    };
    return { fake: fake as unknown as EngineClient, calls };
  }
  const start = async (e: EngineClient, dir: string) => {
    const platform = memoryPlatform();
    const state = new StateRecorder(platform.state);
    state.begin({ session: 's1', mode: 'dind', startedWith: {} } as never);
    const inputs = parseInputs((name: InputName) => (name === 'job-status' ? 'success' : INPUT_DEFAULTS[name]));
    const input = { inputs, session: 's1', labels: {}, hostJobDir: '/host/tmp/job', socketGroup: 118, withheld: ['SYS_RESOURCE'], configFile: false, certsDir: false, remembered: privilegeMemory(dir, info()) };
    await startFirstAccepted(e, input, state, platform.log, {});
    return { state, warnings: platform.messages.filter((m) => m.level === 'warning').map((m) => m.text) };
  };

  it('learns a refusal in the first job and skips the attempt in the next, saying so in the same warning', async () => {
    const dir = newDir();
    const first = engine();
    await start(first.fake, dir);
    expect(first.calls).toEqual(['create privileged', 'start c1', 'remove c1', 'create explicit', 'start c2']);
    const second = engine();
    const { state, warnings } = await start(second.fake, dir);
    expect(second.calls).toEqual(['create explicit', 'start c1']);
    expect(state.value?.privilege).toBe('explicit-capabilities');
    // The same warning as after a refusal seen now: what was refused, and exactly what was granted.
    expect(warnings).toEqual([expect.stringMatching(/^The engine refused privileged \(starting container c1 failed: unable to apply caps: operation not permitted; remembered from a job 0 min ago on this engine, asked again after 60 min\)\. THE DAEMON'S CONTAINER RUNS WITH EVERY CAPABILITY EXCEPT SYS_RESOURCE/)]);
  });

  it('names the remembered refusal among the refusals when nothing starts, and forgets it', async () => {
    const dir = newDir();
    await start(engine().fake, dir);
    await expect(start(engine(2).fake, dir)).rejects.toThrow(/Could not start the dind container \(privileged: starting container c1 failed: unable to apply caps: operation not permitted; remembered from a job .*; explicit-capabilities: .*something else; minimal-capabilities: .*something else\)/);
    expect(privilegeMemory(dir, info())!.refusal).toBeUndefined();
  });

  it('forgets the answer when the plan it chose is refused too: the next job asks again', async () => {
    const dir = newDir();
    await start(engine().fake, dir);
    const changed = engine(1);
    await start(changed.fake, dir);
    expect(changed.calls).toEqual(['create explicit', 'start c1', 'remove c1', 'create minimal', 'start c2']);
    const next = engine();
    await start(next.fake, dir);
    expect(next.calls[0]).toBe('create privileged');
  });
});
