import { describe, expect, it } from 'vitest';
import { ACTION_OWNED_KEYS, buildDaemonJson, daemonArgsConflicts } from './daemon-json.js';
import { parseRegistrySettings, type RegistryRaw, type RegistrySettings } from './settings.js';

const settings = (s: Partial<RegistrySettings>): RegistrySettings => ({ mirrors: [], insecure: [], certs: [], daemonConfig: {}, ...s });
const fromInputs = (raw: Partial<RegistryRaw>) => {
  const parsed = parseRegistrySettings({ 'registry-mirrors': '', 'insecure-registries': '', 'registry-certs': '', 'daemon-config': '', ...raw }, { baseDir: '/ws' });
  expect(parsed.problems).toEqual([]);
  return parsed.settings;
};

describe('buildDaemonJson', () => {
  it('is empty without settings', () => {
    expect(buildDaemonJson(settings({}))).toEqual({ config: {}, problems: [] });
  });

  it('generates registry-mirrors and insecure-registries only when set', () => {
    expect(buildDaemonJson(fromInputs({ 'registry-mirrors': 'https://m.test/, http://10.0.0.5:5000', 'insecure-registries': '10.0.0.0/8' })))
      .toEqual({ config: { 'registry-mirrors': ['https://m.test', 'http://10.0.0.5:5000'], 'insecure-registries': ['10.0.0.0/8'] }, problems: [] });
    expect(buildDaemonJson(settings({ mirrors: ['https://m.test'] })).config).toEqual({ 'registry-mirrors': ['https://m.test'] });
    expect(buildDaemonJson(settings({ insecure: ['r.test:5000'] })).config).toEqual({ 'insecure-registries': ['r.test:5000'] });
  });

  it('does not put registry-certs into daemon.json (they go to certs.d)', () => {
    expect(buildDaemonJson(fromInputs({ 'registry-certs': 'r.test=ca.pem' })).config).toEqual({});
  });

  it('merges daemon-config', () => {
    const s = fromInputs({ 'registry-mirrors': 'https://m.test', 'daemon-config': '{"debug": true, "features": {"containerd-snapshotter": true}, "mtu": 1400, "dns": ["1.1.1.1"]}' });
    expect(buildDaemonJson(s)).toEqual({
      config: { 'registry-mirrors': ['https://m.test'], debug: true, features: { 'containerd-snapshotter': true }, mtu: 1400, dns: ['1.1.1.1'] },
      problems: [],
    });
  });

  it('lets daemon-config set registry keys when the registry inputs do not', () => {
    const s = fromInputs({ 'daemon-config': '{"registry-mirrors": ["https://m.test"], "insecure-registries": ["r.test"]}' });
    expect(buildDaemonJson(s)).toEqual({ config: { 'registry-mirrors': ['https://m.test'], 'insecure-registries': ['r.test'] }, problems: [] });
  });

  it('reports a key set both ways, naming both sources', () => {
    const s = fromInputs({
      'registry-mirrors': 'https://m.test', 'insecure-registries': 'r.test',
      'daemon-config': '{"registry-mirrors": ["https://other.test"], "insecure-registries": [], "debug": true}',
    });
    const { config, problems } = buildDaemonJson(s);
    expect(problems).toEqual([
      'input "daemon-config": "registry-mirrors" is also set by input "registry-mirrors"; set it in one place',
      'input "daemon-config": "insecure-registries" is also set by input "insecure-registries"; set it in one place',
    ]);
    expect(config).toEqual({ 'registry-mirrors': ['https://m.test'], 'insecure-registries': ['r.test'], debug: true });
  });

  it('reports every action-owned key, naming what controls it', () => {
    const owned = Object.fromEntries(ACTION_OWNED_KEYS.map((k) => [k, 'x']));
    const { config, problems } = buildDaemonJson(settings({ daemonConfig: { ...owned, debug: true } }));
    expect(ACTION_OWNED_KEYS).toEqual(['hosts', 'group', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey', 'data-root', 'exec-root', 'pidfile']);
    expect(problems).toHaveLength(ACTION_OWNED_KEYS.length);
    for (const [i, key] of ACTION_OWNED_KEYS.entries()) {
      expect(problems[i]).toMatch(new RegExp(`^input "daemon-config": "${key}" is set by the action \\(.+\\); remove it from daemon-config$`));
    }
    expect(problems[0]).toContain('input "tcp" controls the TCP listener');
    expect(problems[3]).toContain('input "tcp" turns on TLS');
    expect(config).toEqual({ debug: true });
  });

  it('keeps keys named like Object.prototype members as plain data', () => {
    const daemonConfig = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "toString": "x"}') as Record<string, unknown>;
    const { config, problems } = buildDaemonJson(settings({ daemonConfig }));
    expect(problems).toEqual([]);
    expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
    expect(Object.keys(config)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(JSON.parse(JSON.stringify(config))).toEqual(daemonConfig);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not share arrays with the settings', () => {
    const s = settings({ mirrors: ['https://m.test'] });
    (buildDaemonJson(s).config['registry-mirrors'] as string[]).push('https://x.test');
    expect(s.mirrors).toEqual(['https://m.test']);
  });
});

describe('daemonArgsConflicts', () => {
  it('reports a dockerd flag that sets a key of daemon.json, naming the input that set it', () => {
    const s = fromInputs({ 'registry-mirrors': 'https://m.test', 'daemon-config': '{"debug": true, "log-level": "warn", "labels": ["a=b"], "mtu": 1400}' });
    const { config } = buildDaemonJson(s);
    expect(daemonArgsConflicts(s, config, ['--registry-mirror=https://x.test', '-D', '--log-level', 'info', '--label=x=y', '--mtu=1500', '--mtu=1400', '--iptables=false'])).toEqual([
      'input "daemon-args": "--registry-mirror=https://x.test" sets "registry-mirrors", which input "registry-mirrors" sets too, and dockerd refuses a setting given twice; set it in one place',
      'input "daemon-args": "-D" sets "debug", which input "daemon-config" sets too, and dockerd refuses a setting given twice; set it in one place',
      'input "daemon-args": "--log-level info" sets "log-level", which input "daemon-config" sets too, and dockerd refuses a setting given twice; set it in one place',
      'input "daemon-args": "--label=x=y" sets "labels", which input "daemon-config" sets too, and dockerd refuses a setting given twice; set it in one place',
      'input "daemon-args": "--mtu=1500" sets "mtu", which input "daemon-config" sets too, and dockerd refuses a setting given twice; set it in one place',
    ]);
  });

  it('reads short, joined and spaced forms as dockerd does', () => {
    const s = fromInputs({ 'daemon-config': '{"debug": true, "log-level": "warn", "storage-driver": "vfs", "mtu": 1400, "labels": ["a=b"]}' });
    const { config } = buildDaemonJson(s);
    const keys = (args: string[]) => daemonArgsConflicts(s, config, args).map((p) => /sets "([^"]+)"/.exec(p)![1]);
    expect(keys(['-Dlinfo'])).toEqual(['debug', 'log-level']);
    expect(keys(['-l=info'])).toEqual(['log-level']);
    expect(keys(['-l', 'info'])).toEqual(['log-level']);
    expect(keys(['-svfs'])).toEqual(['storage-driver']);
    expect(keys(['--mtu', '1500'])).toEqual(['mtu']);
    expect(keys(['--debug=false'])).toEqual(['debug']);
    expect(keys(['--label', 'x=y'])).toEqual(['labels']);
    expect(daemonArgsConflicts(s, config, ['-Dlinfo'])[1]).toContain('"-Dlinfo" sets "log-level"');
    // A value is not a flag: "--label -D" is the label "-D", not --debug.
    expect(keys(['--label', '-D'])).toEqual(['labels']);
  });

  it('is quiet when nothing overlaps', () => {
    const s = fromInputs({ 'insecure-registries': 'r.test' });
    expect(daemonArgsConflicts(s, buildDaemonJson(s).config, ['--mtu=1400', '--registry-mirror=https://m.test', 'value', '-', '--'])).toEqual([]);
    expect(daemonArgsConflicts(s, buildDaemonJson(s).config, ['--insecure-registry=x.test'])[0]).toContain('which input "insecure-registries" sets too');
  });
});
