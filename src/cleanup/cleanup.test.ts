import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupSession, reapStale } from './cleanup.js';
import type { EngineClient } from '../engine/client.js';
import { memoryPlatform } from '../platform/memory.js';
import { LABEL_CREATED, LABEL_SESSION } from '../session/session.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const labels = (session: string, hoursAgo: number) => ({ [LABEL_SESSION]: session, [LABEL_CREATED]: new Date(NOW - hoursAgo * 3600e3).toISOString() });

function fakeEngine() {
  const calls: string[] = [];
  const engine = {
    listLabelled: async () => ({
      containers: [
        { id: 'c-old', name: 'setup-dind-old', state: 'running', labels: labels('old', 30) },
        { id: 'c-new', name: 'setup-dind-new', state: 'running', labels: labels('new', 1) },
        { id: 'c-mine', name: 'setup-dind-mine', state: 'running', labels: labels('mine', 40) },
        { id: 'c-undated', name: 'setup-dind-undated', state: 'exited', labels: { [LABEL_SESSION]: 'x' } },
      ],
      volumes: [{ name: 'v-old', labels: labels('old', 30) }, { name: 'v-new', labels: labels('new', 1) }],
      networks: [{ id: 'n-old', name: 'net-old', labels: labels('old', 30) }],
    }),
    stopContainer: async (id: string) => void calls.push(`stop ${id}`),
    removeContainer: async (id: string) => void calls.push(`rm ${id}`),
    removeVolume: async (name: string) => {
      if (name === 'v-old') throw new Error('volume is in use');
      calls.push(`rm volume ${name}`);
    },
    removeNetwork: async (id: string) => void calls.push(`rm network ${id}`),
  };
  return { engine: engine as unknown as EngineClient, calls };
}

describe('reapStale', () => {
  it('removes only other sessions older than the threshold, and warns about what it cannot remove', async () => {
    const { engine, calls } = fakeEngine();
    const platform = memoryPlatform();
    const reaped: string[][] = [];
    const endHelpers = async (sessions: ReadonlySet<string>) => (reaped.push([...sessions]), ['process 7 (port forwarder of old)']);
    const removed = await reapStale(engine, 24 * 3600e3, 'mine', platform.log, NOW, endHelpers);
    // No graceful stop: a stale daemon's data is kept by nobody.
    expect(calls).toEqual(['rm c-old', 'rm network n-old']);
    // The background processes of the reaped sessions on this host, and only theirs, end too.
    expect(reaped).toEqual([['old']]);
    expect(removed).toEqual(['container setup-dind-old', 'network net-old', 'process 7 (port forwarder of old)']);
    expect(platform.messages).toEqual([{ level: 'warning', text: 'cleanup-stale: could not remove volume v-old: volume is in use' }]);
  });
});

describe('cleanupSession', () => {
  it('removes the container at once (no stop), then the volume, the network and the job directory together', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'setup-dind-cleanup-'));
    const events: string[] = [];
    let containerGone = false;
    let releaseVolume: (() => void) | undefined;
    const server = createServer((req, res) => {
      const path = req.url!.split('?')[0]!;
      const answer = (status: number, body: unknown = {}) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      events.push(`${req.method} ${path}`);
      if (path === '/containers/json') return answer(200, [{ Id: 'c1', Names: ['/setup-dind-s'], State: 'running', Labels: {} }]);
      if (path === '/volumes') return answer(200, { Volumes: [{ Name: 'setup-dind-s', Labels: {} }] });
      if (path === '/networks') return answer(200, [{ Id: 'n1', Name: 'jobnet', Labels: {} }]);
      if (path === '/containers/c1' && req.method === 'DELETE') {
        expect(req.url).toBe('/containers/c1?force=1&v=1');
        expect(existsSync(join(tmp, 'job', 'docker.sock'))).toBe(true); // the directory outlives the container
        setTimeout(() => {
          containerGone = true;
          answer(204);
        }, 50);
        return;
      }
      if (path === '/volumes/setup-dind-s') {
        expect(containerGone).toBe(true);
        // Held until the network's removal has arrived too: both are asked for at the same time.
        releaseVolume = () => answer(204);
        return;
      }
      if (path === '/networks/n1') {
        expect(containerGone).toBe(true);
        answer(204);
        releaseVolume?.();
        return;
      }
      answer(404, { message: `unexpected ${req.method} ${path}` });
    });
    const socket = join(tmp, 'engine.sock');
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      mkdirSync(join(tmp, 'job'));
      writeFileSync(join(tmp, 'job', 'docker.sock'), '');
      const platform = memoryPlatform();
      const report = await cleanupSession({ session: 's', mode: 'dind', outer: { host: `unix://${socket}` }, jobDir: join(tmp, 'job'), containerId: 'c1' }, platform.log);
      expect(report).toEqual({ removed: ['container setup-dind-s', 'volume setup-dind-s', 'network jobnet', `directory ${join(tmp, 'job')}`], warnings: [] });
      expect(events.filter((e) => e.includes('/stop'))).toEqual([]);
      expect(events.slice(3)).toEqual(['DELETE /containers/c1', 'DELETE /volumes/setup-dind-s', 'DELETE /networks/n1']);
      expect(existsSync(join(tmp, 'job'))).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
