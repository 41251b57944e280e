import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTEXT_NAME, type ContextRecord, handOver, installDockerContext, removeDockerContext } from './context.js';
import { contextId } from '../endpoint/docker-config.js';
import { locateEngine } from '../endpoint/endpoint.js';

const endpoint = { address: { kind: 'unix' as const, path: '/run/job/docker.sock' } };

function io() {
  const exported: Record<string, string> = {};
  const warnings: string[] = [];
  let record: ContextRecord | undefined;
  return { exported, warnings, get record() { return record; }, io: { exportVariable: (n: string, v: string) => void (exported[n] = v), record: (r: ContextRecord) => void (record = r), warning: (t: string) => void warnings.push(t) } };
}

describe('the docker context setup-dind', () => {
  it('made current: the docker CLI (and locateEngine) finds the job daemon; post restores config.json byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctx-'));
    const before = '{\n  "auths": {},\n  "currentContext": "bed"\n}';
    writeFileSync(join(dir, 'config.json'), before);
    const h = io();
    const message = await handOver('context', endpoint, { DOCKER_CONFIG: dir }, h.io);
    expect(message).toMatch(/current context "setup-dind"/);
    expect(h.exported).toEqual({});
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({ auths: {}, currentContext: CONTEXT_NAME });
    expect(locateEngine({}, { DOCKER_CONFIG: dir }).endpoint).toEqual(endpoint);
    await removeDockerContext(h.record!);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(before);
    expect(existsSync(join(dir, 'contexts'))).toBe(false);
  });

  it('with DOCKER_HOST exported the context is there but not current, and config.json is never touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctx-'));
    mkdirSync(join(dir, 'contexts', 'meta', 'other'), { recursive: true });
    const h = io();
    await handOver('environment', { address: { kind: 'tcp', host: '127.0.0.1', port: 1234 }, tlsCertPath: '/t' }, { DOCKER_CONFIG: dir }, h.io);
    expect(h.exported).toEqual({ DOCKER_HOST: 'tcp://127.0.0.1:1234', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/t' });
    // The TLS files do not exist: the context cannot be completed, which is a warning, never a failure.
    expect(h.warnings.join()).toMatch(/could not be created .*DOCKER_HOST is exported/);
    const h2 = io();
    await handOver('environment', endpoint, { DOCKER_CONFIG: dir }, h2.io);
    expect(h2.warnings).toEqual([]);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'contexts', 'meta', contextId(CONTEXT_NAME), 'meta.json'), 'utf8')).Endpoints.docker.Host).toBe('unix:///run/job/docker.sock');
    await removeDockerContext(h2.record!);
    expect(existsSync(join(dir, 'contexts', 'meta', contextId(CONTEXT_NAME)))).toBe(false);
    expect(existsSync(join(dir, 'contexts', 'meta', 'other'))).toBe(true);
  });

  it('removes a config directory it created, and warns when DOCKER_HOST or DOCKER_CONTEXT would win over the context', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ctx-')), '.docker');
    const h = io();
    await handOver('context', endpoint, { DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///outer.sock' }, h.io);
    expect(h.warnings.join()).toMatch(/DOCKER_HOST is set in the job's environment.*unset DOCKER_HOST/);
    await removeDockerContext(h.record!);
    expect(existsSync(dir)).toBe(false);
  });

  it('records before it writes, so a post after a crash still removes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctx-'));
    let recorded: ContextRecord | undefined;
    await installDockerContext(dir, endpoint, { makeCurrent: true }, (r) => {
      expect(existsSync(join(dir, 'contexts'))).toBe(false);
      recorded = r;
    });
    expect(recorded).toEqual({ configDir: dir, configBefore: null, madeCurrent: true, host: 'unix:///run/job/docker.sock' });
    await removeDockerContext(recorded!);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });

  it('two jobs of one user at once: each post leaves the context of the other, and the last removes the directory they made', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ctx-')), '.docker');
    const a = io();
    const b = io();
    await handOver('environment', endpoint, { DOCKER_CONFIG: dir }, a.io);
    await handOver('environment', { address: { kind: 'unix', path: '/run/other/docker.sock' } }, { DOCKER_CONFIG: dir }, b.io);
    expect(a.record!.createdConfigDir && b.record!.createdConfigDir).toBe(true);
    await removeDockerContext(a.record!);
    expect(locateEngine({}, { DOCKER_CONFIG: dir, DOCKER_CONTEXT: CONTEXT_NAME }).endpoint.address).toEqual({ kind: 'unix', path: '/run/other/docker.sock' });
    await removeDockerContext(b.record!);
    expect(existsSync(dir)).toBe(false);
  });
});
