import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INPUT_DEFAULTS, type InputName, parseInputs } from '../inputs/inputs.js';
import { memoryPlatform } from '../platform/memory.js';
import { dindExtras } from './extras.js';

const inputs = (given: Partial<Record<InputName, string>> = {}) =>
  parseInputs((name) => given[name] ?? (name === 'job-status' ? 'success' : INPUT_DEFAULTS[name]));

const root = mkdtempSync(join(tmpdir(), 'sd-integration-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('integration inputs', () => {
  it('default to behaving like the runner\'s engine', () => {
    expect(inputs().integration).toEqual({ jobPaths: true, mountPaths: [], mtu: undefined, mtuSetElsewhere: false, proxy: true, forwardPorts: true });
    expect(inputs({ mtu: ' 1400 ', proxy: 'false', 'job-paths': 'no', 'mount-paths': '/srv/a/\n\n/srv//b' }).integration)
      .toEqual({ jobPaths: false, mountPaths: ['/srv/a', '/srv/b'], mtu: 1400, mtuSetElsewhere: false, proxy: false, forwardPorts: true });
  });

  it('leave the MTU to daemon-args or daemon-config when they set it', () => {
    expect(inputs({ 'daemon-args': '--mtu=1300' }).integration.mtuSetElsewhere).toBe(true);
    expect(inputs({ 'daemon-config': '{"default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1300"}}}' }).integration.mtuSetElsewhere).toBe(true);
  });
});

describe('dindExtras', () => {
  const workspace = join(root, 'work', 'repo');
  const temp = join(root, 'work', '_temp');
  const jobDir = join(temp, 'setup-dind-s1');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(jobDir, { recursive: true });
  mkdirSync(join(root, 'extra'));

  it('mounts the job paths and extra ones at identical paths; the job directory rides on RUNNER_TEMP', async () => {
    const platform = memoryPlatform({
      job: { workspace, tempDir: temp },
      env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: workspace, RUNNER_TEMP: temp, RUNNER_TOOL_CACHE: join(root, 'no-tool-cache'), HTTP_PROXY: 'http://proxy:3128' },
    });
    const extras = await dindExtras({ inputs: inputs({ 'mount-paths': join(root, 'extra') }), platform, jobDir, hostJobDir: jobDir, translate: (p) => p });
    expect(extras.mounts).toEqual([
      { Type: 'bind', Source: workspace, Target: workspace },
      { Type: 'bind', Source: temp, Target: temp },
      { Type: 'bind', Source: join(root, 'extra'), Target: join(root, 'extra') },
    ]);
    expect(platform.messages.map((m) => m.text).join('\n')).toMatch(/not mounted into the daemon's container: .*no-tool-cache \(RUNNER_TOOL_CACHE\): is not a directory that exists/);
    expect(extras.env).toEqual(expect.arrayContaining(['SETUP_DIND_MTU=auto', 'HTTP_PROXY=http://proxy:3128']));
  });

  it('with job-paths and proxy off: only the job directory (for the socket DOCKER_HOST names), no proxies', async () => {
    const platform = memoryPlatform({ job: { workspace, tempDir: temp }, env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: workspace, RUNNER_TEMP: temp, HTTP_PROXY: 'http://proxy:3128' } });
    const extras = await dindExtras({ inputs: inputs({ 'job-paths': 'false', proxy: 'false', mtu: '1360' }), platform, jobDir, hostJobDir: '/host/job', translate: (p) => p });
    expect(extras.mounts).toEqual([{ Type: 'bind', Source: '/host/job', Target: jobDir }]);
    // Ports are forwarded (the default): the init installs the claims wrapper (port-claims.ts).
    expect(extras.env).toEqual(['SETUP_DIND_MTU=1360', 'SETUP_DIND_PORT_CLAIMS=1']);
    const unforwarded = await dindExtras({ inputs: inputs({ 'job-paths': 'false', proxy: 'false', mtu: '1360', 'forward-ports': 'false' }), platform, jobDir, hostJobDir: '/host/job', translate: (p) => p });
    expect(unforwarded.env).toEqual(['SETUP_DIND_MTU=1360']);
    expect(unforwarded.sysctls).toBeUndefined();
  });
});
