// Every end-to-end test, whatever it checks itself: afterwards, nothing that carries a setup-dind session label may
// remain on the engine (a job's daemon, volume or network that its post, or the test, failed to remove).
import { beforeEach, expect, onTestFinished } from 'vitest';
import { LABEL_SESSION } from '../../src/session/session.js';
import { outerEngine } from './support.js';

// Registered first, so it runs last: after the test's own onTestFinished cleanups (they run in reverse order).
beforeEach(() => onTestFinished(async () => {
  if (!process.env.DOCKER_HOST) return;
  const left = await outerEngine().listLabelled(LABEL_SESSION);
  expect(
    { containers: left.containers.map((c) => c.name), volumes: left.volumes.map((v) => v.name), networks: left.networks.map((n) => n.name) },
    'objects of a setup-dind session left on the engine after the test',
  ).toEqual({ containers: [], volumes: [], networks: [] });
}));
