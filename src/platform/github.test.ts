import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { githubPlatform } from './github.js';

// @actions/core writes file commands to the files named in process.env: give it fresh ones per test.
let dir: string;
const saved = { ...process.env };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-platform-'));
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY']) {
    writeFileSync(join(dir, name), '');
    process.env[name] = join(dir, name);
  }
});
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

/** Parses `name<<DELIM\nvalue\nDELIM` records as the runner does. */
function records(file: string): Record<string, string> {
  const text = readFileSync(join(dir, file), 'utf8');
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) out[m[1]!] = m[3]!;
  return out;
}

describe('githubPlatform', () => {
  it('reads inputs untrimmed, with hyphens kept and spaces as underscores', () => {
    const platform = githubPlatform({ 'INPUT_WAIT-TIMEOUT': ' 30 ', 'INPUT_DAEMON-ARGS': '--a\n--b\n' });
    expect(platform.input('wait-timeout')).toBe(' 30 ');
    expect(platform.input('daemon-args')).toBe('--a\n--b\n');
    expect(platform.input('mode')).toBe('');
  });

  it('writes outputs, exported variables and state through the runner files', () => {
    const platform = githubPlatform(process.env);
    platform.setOutput('docker-host', 'unix:///x/docker.sock');
    platform.exportVariable('DOCKER_HOST', 'unix:///x/docker.sock');
    platform.state.set('setup-dind', '{"session":"s"}');
    expect(records('GITHUB_OUTPUT')).toEqual({ 'docker-host': 'unix:///x/docker.sock' });
    expect(records('GITHUB_ENV')).toEqual({ DOCKER_HOST: 'unix:///x/docker.sock' });
    expect(records('GITHUB_STATE')).toEqual({ 'setup-dind': '{"session":"s"}' });
  });

  it('reads state saved by an earlier phase from STATE_ variables', () => {
    process.env['STATE_setup-dind'] = '{"session":"earlier"}';
    expect(githubPlatform(process.env).state.get('setup-dind')).toBe('{"session":"earlier"}');
  });

  it('appends to the step summary, and masks with add-mask', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const platform = githubPlatform(process.env);
    await platform.appendSummary('### one\n');
    await platform.appendSummary('### two\n');
    platform.mask('s3cret');
    expect(readFileSync(join(dir, 'GITHUB_STEP_SUMMARY'), 'utf8')).toBe('### one\n### two\n');
    expect(write.mock.calls.map((c) => String(c[0])).join('')).toContain('::add-mask::s3cret');
  });

  it('takes the job identity and temp directory from the runner', () => {
    const platform = githubPlatform({ GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '2', GITHUB_JOB: 'build', RUNNER_TEMP: '/rt', GITHUB_WORKSPACE: '/ws' });
    expect(platform.job).toEqual({ runId: '9', runAttempt: '2', job: 'build', name: 'build', matrix: '', ref: { name: '', protected: false, fallbacks: [] }, tempDir: '/rt', workspace: '/ws' });
  });

  it('issues annotations, groups and failures as escaped workflow commands', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const exitCode = process.exitCode;
    try {
      const platform = githubPlatform(process.env);
      platform.log.warning('50% done\nsecond line\r');
      await platform.group('Daemon log', async () => platform.log.info('inside'));
      platform.fail('could not start: a:b,c');
      expect(process.exitCode).toBe(1);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toBe(
        '::warning::50%25 done%0Asecond line%0D\n::group::Daemon log\ninside\n::endgroup::\n::error::could not start: a:b,c\n',
      );
    } finally {
      process.exitCode = exitCode;
    }
  });

  it('falls back to stdout commands when the runner gives no command files', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const platform = githubPlatform({});
    platform.setOutput('docker-host', 'tcp://x:1');
    platform.state.set('setup-dind', '{}');
    expect(write.mock.calls.map((c) => String(c[0])).join('')).toBe('\n::set-output name=docker-host::tcp://x:1\n::save-state name=setup-dind::{}\n');
  });
});

describe('the job identity the cache is scoped by', () => {
  it('job id, the matrix from the input whose default is toJSON(matrix), and the ref with its fallbacks', () => {
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ repository: { default_branch: 'trunk' } }));
    const p = githubPlatform({ GITHUB_JOB: 'test', INPUT_MATRIX: '{\n  "os": "linux"\n}', GITHUB_REF_NAME: '12/merge', GITHUB_REF_PROTECTED: 'false', GITHUB_BASE_REF: 'develop', GITHUB_EVENT_PATH: event });
    expect(p.job.name).toBe('test');
    expect(p.job.matrix).toBe('{\n  "os": "linux"\n}');
    expect(p.job.ref).toEqual({ name: '12/merge', protected: false, fallbacks: ['develop', 'trunk'] });
    const main = githubPlatform({ GITHUB_REF_NAME: 'trunk', GITHUB_REF_PROTECTED: 'true', GITHUB_EVENT_PATH: event });
    expect(main.job.ref).toEqual({ name: 'trunk', protected: true, fallbacks: [] });
    expect(githubPlatform({ GITHUB_EVENT_PATH: join(dir, 'missing.json') }).job.ref).toEqual({ name: '', protected: false, fallbacks: [] });
  });
});
