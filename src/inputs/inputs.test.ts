import { describe, expect, it } from 'vitest';
import { INPUT_DEFAULTS, type InputName, InputError, parseInputs, splitArguments } from './inputs.js';

const parse = (given: Partial<Record<InputName, string>>) =>
  parseInputs((name) => given[name] ?? (name === 'job-status' ? 'success' : INPUT_DEFAULTS[name]));

const problemsOf = (given: Partial<Record<InputName, string>>): string[] => {
  try {
    parse(given);
  } catch (e) {
    if (e instanceof InputError) return e.problems;
    throw e;
  }
  throw new Error('expected an InputError');
};

describe('parseInputs', () => {
  it('gives typed defaults', () => {
    const inputs = parse({});
    expect(inputs.mode).toBe('dind');
    expect(inputs.waitTimeoutMs).toBe(60_000);
    expect(inputs.dind).toEqual({ image: 'docker:29.1.3-dind@sha256:173f284a4299164772a90f52b373e73e087583c0963f1334c9995f190ef6f3f5', privileged: 'auto', runtime: undefined, tcp: false, network: undefined, daemonArgs: [], rootless: false });
    expect(inputs.jobStatus).toBe('success');
  });

  it('parses socket and external addresses', () => {
    expect(parse({ mode: 'socket' }).dockerHost).toBeUndefined();
    expect(parse({ mode: 'external', 'docker-host': 'tcp://docker:2376' }).dockerHost).toEqual({ kind: 'tcp', host: 'docker', port: 2376 });
    expect(parse({ mode: 'external', 'docker-host': ' unix:///run/x.sock ' }).dockerHost).toEqual({ kind: 'unix', path: '/run/x.sock' });
    expect(parse({ 'wait-timeout': '2.5' }).waitTimeoutMs).toBe(2500);
  });

  it('reports every invalid input at once, naming the input, the value and what is allowed', () => {
    const problems = problemsOf({ mode: 'Dind2', 'wait-timeout': '-3', tcp: 'maybe', privileged: 'always' });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/input "mode": "dind2" is not allowed; use one of dind, socket, external/);
    expect(problems.join('\n')).toMatch(/input "wait-timeout": "-3" .*between 0 and 3600/);
    expect(problems.join('\n')).toMatch(/input "tcp": "maybe" is not a boolean/);
    expect(problems.join('\n')).toMatch(/input "privileged": "always" is not allowed; use one of auto, true, false/);
  });

  it('requires docker-host for external and rejects unsupported addresses', () => {
    expect(problemsOf({ mode: 'external' })[0]).toMatch(/input "docker-host": is required with mode external/);
    expect(problemsOf({ mode: 'external', 'docker-host': 'http://docker:2375' })[0]).toMatch(/"http:\/\/docker:2375" is not a supported address/);
    expect(problemsOf({ mode: 'external', 'docker-host': 'tcp://docker' })[0]).toMatch(/needs a host and a port/);
    expect(problemsOf({ mode: 'external', 'docker-host': 'unix://relative.sock' })[0]).toMatch(/absolute socket path/);
  });

  it('rejects dind-only settings in other modes instead of ignoring them', () => {
    const problems = problemsOf({ mode: 'socket', image: 'docker:27-dind', tcp: 'true' });
    expect(problems).toEqual([
      expect.stringMatching(/input "image": "docker:27-dind" applies only to mode dind, but mode is socket/),
      expect.stringMatching(/input "tcp": "true" applies only to mode dind/),
    ]);
  });

  it('validates dind settings', () => {
    expect(problemsOf({ image: 'Docker:dind' })[0]).toMatch(/input "image": "Docker:dind" is not an image reference/);
    expect(problemsOf({ image: 'docker:29-dind; rm -rf /' })[0]).toMatch(/input "image"/);
    expect(problemsOf({ runtime: 'sysbox-runc', privileged: 'true' })[0]).toMatch(/input "runtime".*privileged is "true"/);
    expect(problemsOf({ network: 'bad name' })[0]).toMatch(/input "network": "bad name" is not a docker network name/);
    expect(problemsOf({ 'daemon-args': '--host=tcp://0.0.0.0:2375' })[0]).toMatch(/input "daemon-args": "--host=tcp:\/\/0.0.0.0:2375" sets --host \(-H\), which is set by the action itself/);
    expect(problemsOf({ 'daemon-args': 'rm -rf /' })[0]).toMatch(/input "daemon-args": "rm" is not a dockerd flag/);
    expect(problemsOf({ 'daemon-args': '--label "open' })[0]).toMatch(/input "daemon-args": "--label \\"open" has an unclosed " quote; close it/);
    expect(parse({ image: 'registry.example.com:5000/team/dind:1.2@sha256:' + 'a'.repeat(64) }).dind.image).toContain('registry.example.com');
  });

  it('rejects multi-line and NUL values, and shows long values shortened', () => {
    expect(problemsOf({ mode: 'dind\nsocket' })[0]).toMatch(/input "mode": "dind\\nsocket" must be a single line/);
    expect(problemsOf({ runtime: 'a\0b' })[0]).toMatch(/NUL/);
    const long = problemsOf({ network: 'n'.repeat(500) })[0]!;
    expect(long).toMatch(/\(500 characters\)/);
    expect(long.length).toBeLessThan(300);
  });

  it('rejects TLS over a unix socket', () => {
    expect(problemsOf({ mode: 'external', 'docker-host': 'unix:///x.sock', 'tls-cert-path': '/certs' })[0]).toMatch(/input "tls-cert-path": TLS applies to tcp:\/\//);
  });

  it('reads an unexpanded or unknown job status as unknown', () => {
    expect(parse({ 'job-status': '${{ job.status }}' }).jobStatus).toBe('unknown');
    expect(parse({ 'job-status': 'Failure' }).jobStatus).toBe('failure');
  });
});

describe('registry inputs by mode', () => {
  it('parses mirrors and certificates for dind', () => {
    const inputs = parse({ 'registry-mirrors': 'https://mirror.test:5000/', 'registry-certs': 'mirror.test:5000=/certs/ca.pem' });
    expect(inputs.registry.mirrors).toEqual(['https://mirror.test:5000']);
    expect(inputs.registry.certs).toEqual([{ host: 'mirror.test:5000', source: { kind: 'file', path: '/certs/ca.pem' } }]);
  });
  it('changes the runner daemon in socket mode only with configure-host', () => {
    expect(problemsOf({ mode: 'socket', 'registry-mirrors': 'https://m.test' })[0]).toMatch(/input "registry-mirrors": in mode socket this changes the runner's own daemon.*configure-host: true/);
    expect(parse({ mode: 'socket', 'registry-mirrors': 'https://m.test', 'configure-host': 'true' }).configureHost).toBe(true);
    expect(parse({ mode: 'socket', 'registry-certs': 'r.test=/c.pem' }).registry.certs).toHaveLength(1);
    expect(problemsOf({ 'configure-host': 'true' })[0]).toMatch(/input "configure-host": .*applies only to mode socket, but mode is dind/);
  });
  it('says what cannot be applied to an external daemon', () => {
    expect(problemsOf({ mode: 'external', 'docker-host': 'tcp://d:2376', 'insecure-registries': 'r.test:5000' })[0]).toMatch(/input "insecure-registries": mode external uses a daemon the action does not manage/);
  });
  it('rejects a setting given twice: daemon-config and daemon-args against the registry inputs', () => {
    expect(problemsOf({ 'registry-mirrors': 'https://m.test', 'daemon-config': '{"registry-mirrors":["https://n.test"]}' })[0]).toMatch(/input "daemon-config": "registry-mirrors" is also set by input "registry-mirrors"/);
    expect(problemsOf({ 'registry-mirrors': 'https://m.test', 'daemon-args': '--registry-mirror=https://n.test' })[0]).toMatch(/input "daemon-args": .*set it in one place/);
    expect(problemsOf({ 'daemon-config': '{"hosts":["tcp://0.0.0.0:2375"]}' })[0]).toMatch(/input "daemon-config": "hosts" is set by the action/);
  });
});

describe('splitArguments', () => {
  it('splits on spaces and lines, honours quotes, expands nothing', () => {
    expect(splitArguments('--mtu=1400\n--label "a b"  --x=\'$(id)\' ""')).toEqual(['--mtu=1400', '--label', 'a b', '--x=$(id)', '']);
    expect(splitArguments('  \n ')).toEqual([]);
  });
});

describe('cleanup-stale and sizes', () => {
  it('parses ages and rejects what is not one', () => {
    expect(parse({ 'cleanup-stale': '6h' }).cleanupStaleMs).toBe(6 * 3600e3);
    expect(problemsOf({ 'cleanup-stale': 'yesterday' })[0]).toMatch(/input "cleanup-stale": "yesterday" is not an age/);
    expect(problemsOf({ mode: 'external', 'docker-host': 'tcp://d:1', 'cleanup-stale': '1d' })[0]).toMatch(/mode external/);
  });
  it('parses cache sizes', () => {
    expect(parse({ cache: 'images', 'cache-max-size': '2G' }).cache!.maxBytes).toBe(2 * 1024 ** 3);
    expect(parse({ cache: 'images', 'cache-max-size': '500MiB' }).cache!.maxBytes).toBe(500 * 1024 ** 2);
    expect(problemsOf({ cache: 'images', 'cache-max-size': 'big' })[0]).toMatch(/input "cache-max-size": "big" is not a size/);
    expect(problemsOf({ 'cache-dir': '/x' })[0]).toMatch(/input "cache-dir": "\/x" has no effect while cache is false/);
    expect(problemsOf({ mode: 'socket', cache: 'data-root' })[0]).toMatch(/needs mode dind/);
  });
});
