import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELP, UsageError, envName, parseCli, runCli } from './cli.js';
import { shellPlatform } from './platform/shell.js';

describe('parseCli', () => {
  it('takes inputs from SETUP_DIND_* variables and flags, flags winning, defaults filled', () => {
    const parsed = parseCli(['start', '--mode', 'socket', '--wait-timeout=5'], { SETUP_DIND_MODE: 'dind', SETUP_DIND_REGISTRY_MIRRORS: 'https://m.test', CI_JOB_ID: '77' });
    expect(parsed.command).toBe('start');
    expect(parsed.inputs.mode).toBe('socket');
    expect(parsed.inputs['wait-timeout']).toBe('5');
    expect(parsed.inputs['registry-mirrors']).toBe('https://m.test');
    expect(parsed.inputs.image).toMatch(/^docker:29\.\d+\.\d+-dind@sha256:[0-9a-f]{64}$/);
    expect(parsed.stateDir).toBe(join(tmpdir(), 'setup-dind-77'));
    expect(envName('cache-max-size')).toBe('SETUP_DIND_CACHE_MAX_SIZE');
  });

  it("maps GitLab's CI_JOB_STATUS for stop", () => {
    expect(parseCli(['stop'], { CI_JOB_STATUS: 'failed' }).inputs['job-status']).toBe('failure');
    expect(parseCli(['stop'], { CI_JOB_STATUS: 'canceled' }).inputs['job-status']).toBe('cancelled');
    expect(parseCli(['stop', '--job-status', 'failure'], { CI_JOB_STATUS: 'success' }).inputs['job-status']).toBe('failure');
  });

  it('rejects unknown commands and options, and missing values, as usage errors', () => {
    expect(() => parseCli(['launch'], {})).toThrow(UsageError);
    expect(() => parseCli(['start', '--imgae', 'x'], {})).toThrow(/unknown option --imgae/);
    expect(() => parseCli(['start', '--mode'], {})).toThrow(/--mode needs a value/);
    expect(() => parseCli([], {})).toThrow(/no command/);
    expect(() => parseCli(['env', '--format', 'yaml'], {})).toThrow(/use shell or dotenv/);
  });
});

describe('runCli', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, out: (t: string) => void lines.push(t) };
  };

  it('exits 2 on bad usage, 0 for --help and --version', async () => {
    const c = capture();
    expect(await runCli(['frobnicate'], {}, c.out, c.out)).toBe(2);
    expect(c.lines.join('\n')).toMatch(/unknown command "frobnicate"/);
    expect(await runCli(['--help'], {}, c.out, c.out)).toBe(0);
    expect(c.lines.join('\n')).toContain(HELP.split('\n')[0]);
    expect(await runCli(['--version'], {}, c.out, c.out)).toBe(0);
  });

  it('exits 1 with every problem when inputs are invalid, and starts nothing', async () => {
    const c = capture();
    const stateDir = mkdtempSync(join(tmpdir(), 'cli-'));
    expect(await runCli(['start', '--state-dir', stateDir, '--mode', 'nope', '--wait-timeout', '-1'], {}, c.out, c.out)).toBe(1);
    expect(c.lines.join('\n')).toMatch(/2 inputs are invalid[\s\S]*input "mode": "nope"[\s\S]*input "wait-timeout": "-1"/);
  });

  it('prints the saved variables as shell exports or dotenv', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'cli-'));
    const platform = shellPlatform({ env: {}, inputs: {}, stateDir, out: () => {}, err: () => {} });
    platform.exportVariable('DOCKER_HOST', "unix:///tmp/it's/docker.sock");
    const c = capture();
    expect(await runCli(['env', '--state-dir', stateDir], {}, c.out, c.out)).toBe(0);
    expect(await runCli(['env', '--state-dir', stateDir, '--format', 'dotenv'], {}, c.out, c.out)).toBe(0);
    expect(c.lines).toEqual([`export DOCKER_HOST='unix:///tmp/it'\\''s/docker.sock'`, "DOCKER_HOST=unix:///tmp/it's/docker.sock"]);
    expect(await runCli(['env', '--state-dir', mkdtempSync(join(tmpdir(), 'cli-'))], {}, c.out, c.out)).toBe(1);
  });

  it('puts added directories first on the shell\'s PATH (the last added first); dotenv cannot extend PATH', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'cli-'));
    const platform = shellPlatform({ env: {}, inputs: {}, stateDir, out: () => {}, err: () => {} });
    platform.exportVariable('DOCKER_HOST', 'unix:///d.sock');
    platform.addPath('/job/client');
    platform.addPath("/it's/second");
    const c = capture();
    expect(await runCli(['env', '--state-dir', stateDir], {}, c.out, c.out)).toBe(0);
    expect(c.lines).toEqual([`export DOCKER_HOST='unix:///d.sock'\nexport PATH='/job/client':"$PATH"\nexport PATH='/it'\\''s/second':"$PATH"`]);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('sh', ['-c', `${c.lines[0]}\nprintf %s "$PATH"`], { env: { PATH: '/bin' } }).toString()).toBe("/it's/second:/job/client:/bin");
    expect(await runCli(['env', '--state-dir', stateDir, '--format', 'dotenv'], {}, c.out, c.out)).toBe(0);
    expect(c.lines[1]).toBe('DOCKER_HOST=unix:///d.sock');
  });
});
