import { describe, expect, it } from 'vitest';
import { reapStale } from './cleanup.js';
import type { EngineClient } from './engine/client.js';
import { memoryPlatform } from './platform/memory.js';
import { LABEL_CREATED, LABEL_SESSION } from './session.js';

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
    const removed = await reapStale(engine, 24 * 3600e3, 'mine', platform.log, NOW);
    expect(calls).toEqual(['stop c-old', 'rm c-old', 'rm network n-old']);
    expect(removed).toEqual(['container setup-dind-old', 'network net-old']);
    expect(platform.messages).toEqual([{ level: 'warning', text: 'cleanup-stale: could not remove volume v-old: volume is in use' }]);
  });
});
