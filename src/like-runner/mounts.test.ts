import { describe, expect, it } from 'vitest';
import { jobPaths, outermost, planJobMounts } from './mounts.js';
import { unmountableReason } from './settings.js';
import type { PathTranslator } from './host-paths.js';

const job = { runId: '1', runAttempt: '1', job: 'j', name: 'j', matrix: '', ref: { name: 'main', protected: false, fallbacks: [] }, tempDir: '/home/runner/work/_temp', workspace: '/home/runner/work/r/r' };
const same: PathTranslator = (p) => p;
const all = async () => true;

describe('jobPaths', () => {
  it('GitHub: workspace, temp and tool cache', () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: '/home/runner/work/r/r/', RUNNER_TEMP: '/home/runner/work/_temp', RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' };
    expect(jobPaths(job, env).map((p) => [p.path, p.source])).toEqual([
      ['/home/runner/work/r/r', 'GITHUB_WORKSPACE'], ['/home/runner/work/_temp', 'RUNNER_TEMP'], ['/opt/hostedtoolcache', 'RUNNER_TOOL_CACHE'],
    ]);
  });

  it('GitLab: the builds dir, which holds the project dir', async () => {
    const env = { GITLAB_CI: 'true', CI_BUILDS_DIR: '/builds', CI_PROJECT_DIR: '/builds/group/project' };
    const paths = jobPaths(job, env);
    expect(paths.map((p) => p.path)).toEqual(['/builds', '/builds/group/project']);
    expect(outermost(paths).map((p) => p.path)).toEqual(['/builds']);
  });

  it('nothing outside a CI system', () => {
    expect(jobPaths(job, {})).toEqual([]);
  });
});

describe('planJobMounts', () => {
  it('mounts each outermost path at the same path, translated to the host in a container job', async () => {
    const translate: PathTranslator = Object.assign((p: string) => p.replace('/__w', '/home/runner/work'), { container: { name: 'job', networks: [] } });
    const plan = await planJobMounts({
      paths: [{ path: '/__w/r/r', source: 'GITHUB_WORKSPACE', explicit: false }, { path: '/__w/r/r/sub', source: 'input mount-paths', explicit: true }],
      translate,
      exists: all,
    });
    expect(plan.mounts).toEqual([{ Type: 'bind', Source: '/home/runner/work/r/r', Target: '/__w/r/r' }]);
  });

  it('skips job paths that cannot be mounted, with the reason; an explicit one is an error naming the input', async () => {
    const translate: PathTranslator = Object.assign((p: string) => {
      if (p.startsWith('/opt')) throw new Error('not mounted');
      return p;
    }, { container: { name: 'job', networks: [] } });
    const plan = await planJobMounts({
      paths: [
        { path: '/', source: 'GITHUB_WORKSPACE', explicit: false },
        { path: '/home/runner/gone', source: 'RUNNER_TEMP', explicit: false },
        { path: '/opt/hostedtoolcache', source: 'RUNNER_TOOL_CACHE', explicit: false },
      ],
      translate,
      exists: async (p) => p !== '/home/runner/gone',
    });
    expect(plan.mounts).toEqual([]);
    expect(plan.skipped).toEqual([
      '/ (GITHUB_WORKSPACE): cannot be mounted: / is a system directory of the daemon\'s container',
      '/home/runner/gone (RUNNER_TEMP): is not a directory that exists',
      '/opt/hostedtoolcache (RUNNER_TOOL_CACHE): is not on a volume or bind mount of the job container job',
    ]);
    await expect(planJobMounts({ paths: [{ path: '/srv/missing', source: 'input mount-paths', explicit: true }], translate: same, exists: async () => false }))
      .rejects.toThrow('input "mount-paths": /srv/missing is not a directory that exists; create it before this step, or remove it');
  });

  it('checks existence for real by default', async () => {
    const plan = await planJobMounts({ paths: [{ path: process.cwd(), source: 'x', explicit: false }, { path: '/nonexistent-sd', source: 'y', explicit: false }], translate: same });
    expect(plan.mounts.map((m) => m.Target)).toEqual([process.cwd()]);
  });
});

describe('unmountableReason', () => {
  it('keeps the container\'s own directories out', () => {
    expect(unmountableReason('/var/lib/docker/x')).toMatch(/inside \/var\/lib\/docker/);
    expect(unmountableReason('/proc/1')).toMatch(/inside \/proc/);
    expect(unmountableReason('/usr/')).toMatch(/system directory/);
    expect(unmountableReason('/home/runner/work')).toBeUndefined();
    expect(unmountableReason('/tmp/build')).toBeUndefined();
  });
});
