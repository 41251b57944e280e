import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextId } from './docker-config.js';
import { clientEnvironment, formatAddress, loadEndpoint, locateEngine, parseDockerHost, resolveEngine, saveEndpoint } from './endpoint.js';

/** A docker config directory as the CLI writes it: config.json and contexts created with `docker context create`. */
function configDir(config: object, contexts: Record<string, { host: string; tls?: boolean; skipTlsVerify?: boolean }> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'docker-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  for (const [name, c] of Object.entries(contexts)) {
    const meta = join(dir, 'contexts', 'meta', contextId(name));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: c.skipTlsVerify ?? false } } }));
    if (c.tls) {
      const tls = join(dir, 'contexts', 'tls', contextId(name), 'docker');
      mkdirSync(tls, { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(tls, f), 'x');
    }
  }
  return dir;
}
const empty = configDir({});

describe('parseDockerHost / formatAddress', () => {
  it('round-trips unix, tcp and IPv6 addresses', () => {
    for (const text of ['unix:///var/run/docker.sock', 'tcp://127.0.0.1:2376', 'tcp://[::1]:2376', 'tcp://docker:2375']) {
      expect(formatAddress(parseDockerHost(text))).toBe(text);
    }
  });
  it('rejects paths, credentials and other schemes', () => {
    expect(() => parseDockerHost('tcp://h:1/x')).toThrow(/must not have a path/);
    expect(() => parseDockerHost('tcp://u:p@h:1')).toThrow(/only tcp:\/\/HOST:PORT/);
    expect(() => parseDockerHost('ssh://h')).toThrow(/not a supported address/);
  });
});

describe('resolveEngine', () => {
  it('finds the engine the way the docker CLI does', () => {
    expect(resolveEngine({}, { DOCKER_CONFIG: empty })).toEqual({ address: { kind: 'unix', path: '/var/run/docker.sock' } });
    expect(resolveEngine({}, { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).address).toEqual({ kind: 'unix', path: '/run/user/1000/docker.sock' });
    expect(resolveEngine({ dockerHost: { kind: 'tcp', host: 'h', port: 1 } }, { DOCKER_HOST: 'unix:///x' }).address).toEqual({ kind: 'tcp', host: 'h', port: 1 });
  });
  it('uses DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set, and checks the files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certs-'));
    expect(() => resolveEngine({}, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir })).toThrow(/DOCKER_CERT_PATH: .* lacks ca.pem, cert.pem, key.pem/);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), 'x');
    expect(resolveEngine({}, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }).tlsCertPath).toBe(dir);
    expect(() => resolveEngine({ dockerHost: { kind: 'tcp', host: 'h', port: 1 }, tlsCertPath: '/nonexistent' }, {})).toThrow(/input "tls-cert-path": directory "\/nonexistent" does not exist/);
  });
  it('names a bad DOCKER_HOST', () => {
    expect(() => resolveEngine({}, { DOCKER_HOST: 'npipe:////./pipe/docker' })).toThrow(/^DOCKER_HOST: .*set docker-host or fix DOCKER_HOST/);
  });
});

describe('locateEngine: docker contexts', () => {
  const dir = configDir({ currentContext: 'current' }, {
    current: { host: 'unix:///run/current.sock' },
    chosen: { host: 'tcp://engine.example:2376', tls: true },
    plain: { host: 'tcp://10.0.0.1:2375' },
    ssh: { host: 'ssh://user@host' },
    insecure: { host: 'tcp://h:2376', skipTlsVerify: true },
  });
  const at = (env: Record<string, string>) => locateEngine({}, { DOCKER_CONFIG: dir, ...env });

  it('takes DOCKER_HOST first, then DOCKER_CONTEXT, then currentContext, then the default socket', () => {
    expect(at({ DOCKER_HOST: 'unix:///run/env.sock', DOCKER_CONTEXT: 'chosen' }).endpoint).toEqual({ address: { kind: 'unix', path: '/run/env.sock' } });
    expect(at({ DOCKER_CONTEXT: 'chosen' }).endpoint).toEqual({
      address: { kind: 'tcp', host: 'engine.example', port: 2376 },
      tlsCertPath: join(dir, 'contexts', 'tls', contextId('chosen'), 'docker'),
    });
    expect(at({}).endpoint).toEqual({ address: { kind: 'unix', path: '/run/current.sock' } });
    expect(at({ DOCKER_CONTEXT: 'default' }).endpoint).toEqual({ address: { kind: 'unix', path: '/var/run/docker.sock' } });
    expect(locateEngine({}, { DOCKER_CONFIG: configDir({ currentContext: 'default' }) }).endpoint.address).toEqual({ kind: 'unix', path: '/var/run/docker.sock' });
    expect(locateEngine({}, { DOCKER_CONFIG: join(empty, 'missing') }).endpoint.address).toEqual({ kind: 'unix', path: '/var/run/docker.sock' });
  });
  it('finds the config directory through HOME when DOCKER_CONFIG is not set', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    mkdirSync(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'current' }));
    const meta = join(home, '.docker', 'contexts', 'meta', contextId('current'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'current', Endpoints: { docker: { Host: 'unix:///home.sock' } } }));
    expect(locateEngine({}, { HOME: home }).endpoint.address).toEqual({ kind: 'unix', path: '/home.sock' });
  });
  it('the docker-host input and tls-cert-path win over any context', () => {
    expect(at({ DOCKER_CONTEXT: 'chosen' }).tlsSource).toBe('docker context "chosen" (from DOCKER_CONTEXT)');
    expect(locateEngine({ dockerHost: { kind: 'unix', path: '/in.sock' } }, { DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'chosen' }).endpoint).toEqual({ address: { kind: 'unix', path: '/in.sock' } });
    expect(locateEngine({ tlsCertPath: '/given' }, { DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'chosen' }).endpoint.tlsCertPath).toBe('/given');
    expect(at({ DOCKER_CONTEXT: 'plain' }).endpoint).toEqual({ address: { kind: 'tcp', host: '10.0.0.1', port: 2375 } });
  });
  it('says which context, from where, and what to do when it cannot be used', () => {
    expect(() => at({ DOCKER_CONTEXT: 'nope' })).toThrow(/^docker context "nope" \(from DOCKER_CONTEXT\): does not exist \(no .*meta.json\); create it with docker context create/);
    expect(() => at({ DOCKER_CONTEXT: 'ssh' })).toThrow(/docker context "ssh" \(from DOCKER_CONTEXT\): its host "ssh:\/\/user@host" is not a supported address.*set docker-host, or DOCKER_HOST/);
    expect(() => at({ DOCKER_CONTEXT: 'insecure' })).toThrow(/skips TLS verification/);
    const broken = configDir({});
    writeFileSync(join(broken, 'config.json'), '{ nope');
    expect(() => locateEngine({}, { DOCKER_CONFIG: broken })).toThrow(/config.json is not valid JSON .*fix or remove it/);
    expect(() => locateEngine({}, { DOCKER_CONFIG: configDir({ currentContext: 'gone' }) })).toThrow(/docker context "gone" \(from currentContext in .*config.json\): does not exist/);
  });
});

describe('saved endpoints and client environment', () => {
  it('round-trips through state and exports TLS variables only with TLS', () => {
    const tls = { address: { kind: 'tcp' as const, host: '127.0.0.1', port: 49153 }, tlsCertPath: '/t/client' };
    expect(loadEndpoint(saveEndpoint(tls))).toEqual(tls);
    expect(clientEnvironment(tls)).toEqual({ DOCKER_HOST: 'tcp://127.0.0.1:49153', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/t/client' });
    expect(clientEnvironment({ address: { kind: 'unix', path: '/s' } })).toEqual({ DOCKER_HOST: 'unix:///s' });
  });
});
