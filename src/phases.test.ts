// Post against a fake engine on a unix socket: what it asks the engine, in which order, when a data-root cache is
// to be saved and when nothing needs the daemon's data.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheRecord } from './cache/cache.js';
import { runPost } from './phases.js';
import { memoryPlatform } from './platform/memory.js';
import type { SessionState } from './state.js';

let tmp: string;
let server: Server;
let socket: string;
let calls: string[];
/** How the fake dind container ends when it is stopped. */
let exitAfterStop: number;
let helperFifo: string;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'setup-dind-post-'));
  socket = join(tmp, 'engine.sock');
  calls = [];
  let stopped = false;
  let helperWrote: Promise<void> = Promise.resolve();
  server = createServer(async (req, res) => {
    const [path, query = ''] = req.url!.split('?') as [string, string?];
    calls.push(`${req.method} ${path}`);
    let body = '';
    for await (const chunk of req) body += chunk;
    const answer = (status: number, body: unknown = {}) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/images/json') return answer(200, [{ Id: 'sha256:new', RepoTags: ['app:1'], Size: 1 }]);
    if (path === '/containers/c1/stop') {
      stopped = true;
      return answer(204);
    }
    if (path === '/containers/c1/json') {
      return answer(200, { Id: 'c1', Name: '/setup-dind-s', Image: 'sha256:dind', RestartCount: 0, State: { Running: !stopped, Restarting: false, Status: stopped ? 'exited' : 'running', ExitCode: stopped ? exitAfterStop : 0 } });
    }
    if (['/networks/prune', '/images/prune', '/build/prune'].includes(path)) return answer(200, {});
    // The snapshot helper: its "tar" is an empty archive written into the FIFO it was given, under the job directory.
    if (path === '/containers/create') {
      const spec = JSON.parse(body) as { Cmd: string[]; Image: string };
      calls.push(`  helper ${spec.Cmd[0]} from ${spec.Image}`);
      helperFifo = join(tmp, 'job', spec.Cmd[1]!.split('/').pop()!);
      return answer(201, { Id: 'h1' });
    }
    if (path === '/containers/h1/start') {
      helperWrote = writeFile(helperFifo, Buffer.alloc(10240));
      return answer(204);
    }
    if (path === '/containers/h1/wait') {
      await helperWrote;
      return answer(200, { StatusCode: 0 });
    }
    // The job's daemon (the same fake) runs no containers; the outer engine lists the session's by label.
    if (path === '/containers/json' && !query.includes('filters')) return answer(200, []);
    if (path === '/containers/json') return answer(200, [{ Id: 'c1', Names: ['/setup-dind-s'], State: stopped ? 'exited' : 'running', Labels: {} }]);
    if (path === '/volumes') return answer(200, { Volumes: [{ Name: 'setup-dind-s', Labels: {} }] });
    if (path === '/networks') return answer(200, []);
    if (req.method === 'DELETE') return answer(204);
    answer(404, { message: `unexpected ${req.method} ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

function postWith(strategy: 'data-root' | 'images' | undefined) {
  const jobDir = join(tmp, 'job');
  mkdirSync(jobDir);
  const cacheDir = join(tmp, 'cache');
  const cache: CacheRecord | undefined = strategy && {
    settings: { strategy, images: [], save: 'on-change', dir: cacheDir },
    key: 'k-2',
    restoreKeys: ['k-'],
    backend: `directory ${cacheDir}`,
    dir: cacheDir,
    hit: 'false',
    fingerprint: ['sha256:old'],
  };
  const state: SessionState = {
    session: 's',
    mode: 'dind',
    outer: { host: `unix://${socket}` },
    endpoint: { host: `unix://${socket}` },
    jobDir,
    hostJobDir: jobDir,
    containerId: 'c1',
    volume: 'setup-dind-s',
    ready: true,
    ...(cache ? { cache } : {}),
  };
  const platform = memoryPlatform({ inputs: { 'job-status': 'success' } });
  platform.stateValues.set('setup-dind', JSON.stringify(state));
  return { platform, jobDir, cacheDir };
}

const warnings = (p: ReturnType<typeof memoryPlatform>) => p.messages.filter((m) => m.level === 'warning').map((m) => m.text);

describe('post', () => {
  it('with nothing to save: no stop, the container is removed at once, then the volume', async () => {
    const { platform, jobDir } = postWith(undefined);
    await runPost(platform);
    expect(calls.slice(0, 3).sort()).toEqual(['GET /containers/json', 'GET /networks', 'GET /volumes']);
    expect(calls.slice(3)).toEqual(['DELETE /containers/c1', 'DELETE /volumes/setup-dind-s']);
    expect(existsSync(jobDir)).toBe(false);
    expect(warnings(platform)).toEqual([]);
  });

  it('data-root: stops dockerd, checks that it exited cleanly, saves, then removes', async () => {
    exitAfterStop = 0;
    const { platform, cacheDir } = postWith('data-root');
    await runPost(platform);
    expect(calls.slice(0, 12)).toEqual([
      'GET /images/json', 'GET /containers/c1/json',
      'GET /containers/json', 'POST /networks/prune', 'POST /images/prune', 'POST /build/prune',
      'POST /containers/c1/stop', 'GET /containers/c1/json',
      'POST /containers/create', '  helper save from sha256:dind', 'POST /containers/h1/start', 'POST /containers/h1/wait',
    ]);
    expect(calls).toContain('DELETE /containers/h1');
    expect(calls.slice(-2)).toEqual(['DELETE /containers/c1', 'DELETE /volumes/setup-dind-s']);
    // The memory platform's job runs on main, not protected: the entry is in that ref's directory.
    expect(readdirSync(join(cacheDir, 'unprotected', 'main'))).toEqual(['k-2.tar.zst']);
    expect(warnings(platform)).toEqual([]);
  });

  it('data-root: a daemon killed after the grace period is not saved (its data may be half-written)', async () => {
    exitAfterStop = 137;
    const { platform, cacheDir } = postWith('data-root');
    await runPost(platform);
    expect(calls).not.toContain('POST /containers/create');
    expect(existsSync(cacheDir)).toBe(false);
    expect(warnings(platform)).toEqual([expect.stringMatching(/saving failed \(the daemon did not shut down cleanly \(it was killed after 10 s\); a snapshot of its data root could be inconsistent, so it is not saved\)/)]);
    expect(calls.slice(-2)).toEqual(['DELETE /containers/c1', 'DELETE /volumes/setup-dind-s']);
  });
});
