import { describe, expect, it } from 'vitest';
import { INPUT_DEFAULTS, type InputName, parseInputs } from '../inputs/inputs.js';
import { apiVersionEnvironment } from './api-version.js';
import type { DaemonSeed } from '../cache/data-root.js';
import type { ContainerSpec, EngineClient } from '../engine/client.js';
import { memoryPlatform } from '../platform/memory.js';
import { StateRecorder } from '../state.js';
import { INIT_SCRIPT, NESTED_DOCKERD_CAPABILITIES, describeGrant, planDind, withheldCapabilities } from './dind-plan.js';
import { type VolumeRestore, startFirstAccepted } from './dind.js';

const inputs = (given: Partial<Record<InputName, string>> = {}) =>
  parseInputs((name) => given[name] ?? (name === 'job-status' ? 'success' : INPUT_DEFAULTS[name]));

const plan = (given: Partial<Record<InputName, string>> = {}, withheld: string[] | null = ['SYS_RESOURCE']) =>
  planDind({ inputs: inputs(given), session: 's1', labels: { l: 'v' }, hostJobDir: '/host/tmp/job', socketGroup: 118, withheld: withheld ?? undefined, configFile: false, certsDir: false });

describe('withheldCapabilities', () => {
  it('names the capabilities missing from the bounding set', () => {
    // This machine's set: everything up to CHECKPOINT_RESTORE (bit 40) but SYS_RESOURCE (bit 24).
    expect(withheldCapabilities('Name:\tnode\nCapBnd:\t000001fffeffffff\n')).toEqual(['SYS_RESOURCE']);
    expect(withheldCapabilities('CapBnd:\t000001ffffffffff\n')).toEqual([]);
    expect(withheldCapabilities('CapBnd:\t00000000a80425fb\n')).toContain('SYS_ADMIN');
    expect(withheldCapabilities('no such line')).toEqual([]);
  });
});

describe('planDind', () => {
  it('asks the engine under auto: --privileged first even when our own process lacks a capability (a pod is not the engine)', () => {
    expect(plan().map((p) => p.strategy)).toEqual(['privileged', 'explicit-capabilities', 'minimal-capabilities']);
    // A pod's bounding set as the hint: the fallback never drops what a nested dockerd needs.
    const [, explicit] = plan({}, ['SYS_ADMIN', 'NET_ADMIN', 'SYS_RESOURCE', 'BPF']);
    expect(explicit!.spec.HostConfig.CapDrop).toEqual(['SYS_RESOURCE', 'BPF']);
  });

  it('tries privileged first under auto, then the explicit capability set', () => {
    const [first, second, third] = plan({}, []);
    expect(first!.spec.HostConfig.CapDrop).toBeUndefined();
    expect(first!.strategy).toBe('privileged');
    expect(first!.spec.HostConfig.Privileged).toBe(true);
    expect(first!.spec.HostConfig.CapAdd).toBeUndefined();
    expect(second!.strategy).toBe('explicit-capabilities');
    expect(second!.spec.HostConfig.Privileged).toBeUndefined();
    expect(second!.spec.HostConfig.CapAdd).toEqual(['ALL']);
    expect(second!.spec.HostConfig.CapDrop).toEqual([]);
    expect(second!.spec.HostConfig.SecurityOpt).toEqual(expect.arrayContaining(['seccomp=unconfined', 'apparmor=unconfined']));
    expect(second!.spec.HostConfig.MaskedPaths).toEqual([]);
    expect(third!.strategy).toBe('minimal-capabilities');
    expect(third!.spec.HostConfig.CapAdd).toContain('SYS_ADMIN');
    expect(third!.spec.HostConfig.CapAdd).not.toContain('ALL');
    expect(third!.spec.HostConfig.CapDrop).toBeUndefined();
  });

  it('gates the job\'s socket for every plan that must pass the run check, and only where the socket is all the job gets', () => {
    const gated = (given: Partial<Record<InputName, string>> = {}) =>
      planDind({ inputs: inputs(given), session: 's1', labels: {}, hostJobDir: '/h', socketGroup: 118, withheld: ['SYS_RESOURCE'], configFile: false, certsDir: false, gateable: true })
        .map((p) => `${p.strategy} ${p.gated} ${p.spec.Cmd!.filter((c) => c.startsWith('--host=unix:///run/')).join(' ')}`);
    expect(gated()).toEqual([
      'privileged false --host=unix:///run/setup-dind/docker.sock',
      'explicit-capabilities true --host=unix:///run/setup-dind/daemon.sock',
      'minimal-capabilities true --host=unix:///run/setup-dind/daemon.sock',
    ]);
    expect(gated({ runtime: 'sysbox-runc' })).toEqual(['runtime true --host=unix:///run/setup-dind/daemon.sock']);
    // A TLS port reaches dockerd past any gate: main waits for the verdict instead.
    expect(gated({ tcp: 'true' }).every((p) => p.includes(' false --host=unix:///run/setup-dind/docker.sock'))).toBe(true);
    expect(plan().every((p) => !p.gated)).toBe(true);
  });

  it('honours privileged true/false and runtime', () => {
    expect(plan({ privileged: 'true' }).map((p) => p.strategy)).toEqual(['privileged']);
    // false forbids the near-root fallback: the minimal set only, whatever the host allows.
    expect(plan({ privileged: 'false' }).map((p) => p.strategy)).toEqual(['minimal-capabilities']);
    expect(plan({ privileged: 'false' }, []).map((p) => p.strategy)).toEqual(['minimal-capabilities']);
    expect(plan({}, ['SYS_RESOURCE'])[1]!.spec.HostConfig.CapDrop).toEqual(['SYS_RESOURCE']);
    // In a container job the host's bounding set is unknown: no "ALL minus withheld" attempt.
    expect(plan({}, null).map((p) => p.strategy)).toEqual(['privileged', 'minimal-capabilities']);
    const [runtime, more] = plan({ runtime: 'sysbox-runc' });
    expect(more).toBeUndefined();
    expect(runtime!.spec.HostConfig.Runtime).toBe('sysbox-runc');
    expect(runtime!.spec.HostConfig.Privileged).toBeUndefined();
    expect(runtime!.spec.HostConfig.CapAdd).toBeUndefined();
  });

  it('runs dockerd on a unix socket in the job directory, data on the session volume, arguments as an array', () => {
    const spec = plan({ 'daemon-args': '--mtu=1400 --label "team=a b"' })[0]!.spec;
    expect(spec.name).toBe('setup-dind-s1');
    expect(spec.Labels).toEqual({ l: 'v' });
    expect(spec.Entrypoint).toEqual(['sh', '-c', INIT_SCRIPT, 'setup-dind-init']);
    expect(spec.Cmd).toEqual(['dockerd', '--host=unix:///run/setup-dind/docker.sock', '--host=unix:///var/run/docker.sock', '--group=118', '--mtu=1400', '--label', 'team=a b']);
    expect(spec.HostConfig.Mounts).toEqual([
      { Type: 'bind', Source: '/host/tmp/job', Target: '/run/setup-dind' },
      { Type: 'volume', Source: 'setup-dind-s1', Target: '/var/lib/docker' },
    ]);
    expect(spec.HostConfig.PortBindings).toBeUndefined();
    expect(spec.Cmd!.join(' ')).not.toMatch(/tcp:/);
  });

  it('adds a TLS endpoint on 127.0.0.1 only, never plain TCP', () => {
    const spec = plan({ tcp: 'true' })[0]!.spec;
    expect(spec.Cmd).toEqual(expect.arrayContaining(['--host=tcp://0.0.0.0:2376', '--tlsverify']));
    expect(spec.HostConfig.PortBindings).toEqual({ '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    expect(spec.Cmd!.filter((a) => a.startsWith('--host=tcp'))).toHaveLength(1);
  });

  it('attaches to a network with the alias docker', () => {
    const spec = plan({ network: 'ci-net' })[0]!.spec;
    expect(spec.HostConfig.NetworkMode).toBe('ci-net');
    expect(spec.NetworkingConfig).toEqual({ EndpointsConfig: { 'ci-net': { Aliases: ['docker'] } } });
  });

  it('adds the job paths and the environment it is given (like-runner/settings.ts) after its own mounts', () => {
    const extras = { mounts: [{ Type: 'bind' as const, Source: '/host/work/repo', Target: '/__w/repo' }], env: ['SETUP_DIND_MTU=auto', 'HTTP_PROXY=http://p:3128'] };
    const spec = planDind({ inputs: inputs(), session: 's1', labels: {}, hostJobDir: '/host/tmp/job', socketGroup: 0, withheld: [], configFile: false, certsDir: false, extras })[0]!.spec;
    expect(spec.HostConfig.Mounts!.slice(2)).toEqual(extras.mounts);
    // After the API floor every dind container gets (daemon/api-version.ts).
    expect(spec.Env).toEqual([...apiVersionEnvironment(), ...extras.env]);
    expect(plan()[0]!.spec.Env).toEqual(apiVersionEnvironment());
  });

  it('keeps user values out of the init script', () => {
    const spec = plan({ 'daemon-args': '"--label=$(touch /pwned)"' })[0]!.spec;
    expect(spec.Entrypoint![2]).toBe(INIT_SCRIPT);
    expect(INIT_SCRIPT).not.toContain('$(touch');
    expect(spec.Cmd).toContain('--label=$(touch /pwned)');
  });
});

describe('what the daemon is granted, in words', () => {
  it('names every capability of the fallback and says it is nearly root', () => {
    expect(describeGrant('explicit-capabilities', inputs(), ['SYS_RESOURCE', 'BPF'])).toBe(
      'every capability except SYS_RESOURCE, BPF (CapAdd ALL), seccomp, AppArmor and SELinux labels off, /proc and /sys unmasked: nearly root on the runner host',
    );
    expect(describeGrant('minimal-capabilities', inputs(), undefined)).toContain(NESTED_DOCKERD_CAPABILITIES.join(', '));
    expect(describeGrant('privileged', inputs(), undefined)).toMatch(/^--privileged: every capability/);
    expect(describeGrant('runtime', inputs({ runtime: 'sysbox-runc' }), undefined)).toBe('the sysbox-runc runtime, no added capabilities');
  });
});


describe('planDind: rootless images', () => {
  const rootlessPlan = (given: Partial<Record<InputName, string>>, extra: { rootlessDataRoot?: string; configFile?: boolean } = {}) =>
    planDind({ inputs: inputs(given), session: 's1', labels: { l: 'v' }, hostJobDir: '/host/tmp/job', socketGroup: 118, withheld: [], configFile: extra.configFile ?? false, certsDir: false, ...extra });

  it('keeps the image\'s entrypoint and user, reaches the daemon over TLS through rootlesskit\'s port, with the tun device', () => {
    const plans = rootlessPlan({ image: 'docker:29-dind-rootless' }, { rootlessDataRoot: '/home/rootless/.local/share/docker', configFile: true });
    expect(plans.map((p) => p.strategy)).toEqual(['privileged', 'explicit-capabilities', 'minimal-capabilities']);
    for (const { spec } of plans) {
      expect(spec.Entrypoint).toBeUndefined(); // the image's own: it starts rootlesskit as the image's user
      expect(spec.HostConfig.Init).toBe(false);
      expect(spec.Cmd).toEqual(['dockerd', '--config-file=/run/setup-dind/daemon.json', '--host=tcp://0.0.0.0:2376', '--tlsverify',
        '--tlscacert=/run/setup-dind-tls/ca.pem', '--tlscert=/run/setup-dind-tls/server-cert.pem', '--tlskey=/run/setup-dind-tls/server-key.pem']);
      expect(spec.Env).toEqual(expect.arrayContaining(['DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=-p 0.0.0.0:2376:2376/tcp', 'DOCKER_TLS_CERTDIR=']));
      expect(spec.HostConfig.PortBindings).toEqual({ '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
      expect(spec.HostConfig.Devices).toEqual([{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }]);
      // Only what its user must read is mounted, read-only: never the (runner-private) job directory itself.
      expect(spec.HostConfig.Mounts).toEqual([
        { Type: 'bind', Source: '/host/tmp/job/rootless-tls', Target: '/run/setup-dind-tls', ReadOnly: true },
        { Type: 'bind', Source: '/host/tmp/job/daemon.json', Target: '/run/setup-dind/daemon.json', ReadOnly: true },
        { Type: 'volume', Source: 'setup-dind-s1', Target: '/home/rootless/.local/share/docker' },
      ]);
    }
  });

  it('is chosen by the input for any image, and the root image keeps the action\'s init', () => {
    expect(rootlessPlan({ image: 'team/dind:1', rootless: 'true' })[0]!.spec.Entrypoint).toBeUndefined();
    const root = rootlessPlan({ image: 'team/dind:1' })[0]!.spec;
    expect(root.Entrypoint?.[0]).toBe('sh');
    expect(root.HostConfig.Devices).toBeUndefined();
    expect(root.Cmd).toContain('--host=unix:///run/setup-dind/docker.sock');
  });

  it('refuses what a rootless daemon cannot honour, and rootless outside dind', () => {
    expect(() => inputs({ image: 'docker:dind-rootless', 'registry-certs': 'r.example=/etc/ca.pem' })).toThrow(/input "registry-certs": a rootless daemon reads its certificates from its user's own config directory/);
    expect(() => inputs({ image: 'docker:dind-rootless', cache: 'data-root' })).toThrow(/input "cache": "data-root" snapshots a root daemon's \/var\/lib\/docker, and image "docker:dind-rootless" runs rootless; use cache: images/);
    expect(() => inputs({ mode: 'socket', rootless: 'true' })).toThrow(/input "rootless": "true" applies only to mode dind/);
    expect(inputs({ image: 'docker:dind-rootless' }).dind).toMatchObject({ rootless: true, tcp: true });
    expect(inputs({ image: 'rootless/dind:1' }).dind.rootless).toBe(false);
  });
});

describe('startFirstAccepted with the data-root seed', () => {
  /** An engine that refuses `refuse` starts (the first ones), and records what it was asked. */
  function engine(refuse: number) {
    const calls: string[] = [];
    const envs: string[][] = [];
    let n = 0;
    const fake = {
      createContainer: async (spec: ContainerSpec) => {
        envs.push(spec.Env ?? []);
        calls.push(`create ${spec.HostConfig.Privileged ? 'privileged' : 'other'}`);
        return `c${++n}`;
      },
      startContainer: async (id: string) => {
        calls.push(`start ${id}`);
        if (refuse-- > 0) throw new Error('unable to apply caps: operation not permitted');
      },
      removeContainer: async (id: string) => void calls.push(`remove ${id}`),
      removeVolume: async (name: string) => void calls.push(`remove volume ${name}`),
      createVolume: async (name: string) => void calls.push(`create volume ${name}`),
    };
    return { fake: fake as unknown as EngineClient, calls, envs };
  }
  const seed = (usable: boolean) => {
    const seen: string[] = [];
    const s: DaemonSeed = {
      env: ['SETUP_DIND_RESTORE=restore-1', 'SETUP_DIND_RESTORE_WAIT=660'],
      started: async (t) => (seen.push(`started ${t.id}`), usable),
      abandon: async () => void seen.push('abandoned'),
    };
    return { s, seen };
  };
  const start = (e: EngineClient, volume: VolumeRestore) => {
    const platform = memoryPlatform();
    const state = new StateRecorder(platform.state);
    state.begin({ session: 's1', mode: 'dind', startedWith: {} } as never);
    const input = { inputs: inputs(), session: 's1', labels: { l: 'v' }, hostJobDir: '/host/tmp/job', socketGroup: 118, withheld: ['SYS_RESOURCE'], configFile: false, certsDir: false };
    return { run: startFirstAccepted(e, input, state, platform.log, volume), state };
  };

  it('gives every plan the seed\'s environment, and hands the started container to the seed after a refused start', async () => {
    const { fake, calls, envs } = engine(1);
    const { s, seen } = seed(true);
    const { run, state } = start(fake, { seed: s });
    await run;
    expect(calls).toEqual(['create privileged', 'start c1', 'remove c1', 'create other', 'start c2']);
    expect(envs.map((e) => e.filter((x) => x.startsWith('SETUP_DIND_RESTORE')))).toEqual([s.env, s.env]);
    expect(seen).toEqual(['started c2']);
    expect(state.value?.containerId).toBe('c2');
  });

  it('replaces a container that ended before it unpacked by a cold one: a new volume, no seed environment', async () => {
    const { fake, calls, envs } = engine(1);
    const { s } = seed(false);
    const { run, state } = start(fake, { seed: s });
    await run;
    expect(calls.slice(4)).toEqual(['start c2', 'remove c2', 'remove volume setup-dind-s1', 'create volume setup-dind-s1', 'create other', 'start c3']);
    expect(envs[2]!.some((x) => x.startsWith('SETUP_DIND_RESTORE'))).toBe(false);
    expect(state.value?.containerId).toBe('c3');
  });

  it('abandons the seed when no plan starts, and fails naming every refusal', async () => {
    const { fake } = engine(3);
    const { s, seen } = seed(true);
    await expect(start(fake, { seed: s }).run).rejects.toThrow(/Could not start the dind container \(privileged: .*unable to apply caps.*; explicit-capabilities: .*; minimal-capabilities: .*\)/);
    expect(seen).toEqual(['abandoned']);
  });
});
