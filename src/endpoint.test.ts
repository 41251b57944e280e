import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientEnvironment, formatAddress, loadEndpoint, parseDockerHost, resolveEngine, saveEndpoint } from './endpoint.js';

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
    expect(resolveEngine({}, {})).toEqual({ address: { kind: 'unix', path: '/var/run/docker.sock' } });
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

describe('saved endpoints and client environment', () => {
  it('round-trips through state and exports TLS variables only with TLS', () => {
    const tls = { address: { kind: 'tcp' as const, host: '127.0.0.1', port: 49153 }, tlsCertPath: '/t/client' };
    expect(loadEndpoint(saveEndpoint(tls))).toEqual(tls);
    expect(clientEnvironment(tls)).toEqual({ DOCKER_HOST: 'tcp://127.0.0.1:49153', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/t/client' });
    expect(clientEnvironment({ address: { kind: 'unix', path: '/s' } })).toEqual({ DOCKER_HOST: 'unix:///s' });
  });
});
