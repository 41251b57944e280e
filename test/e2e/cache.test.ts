// The image cache across runs: restored before the first step, saved only when the images changed, never failing a
// job. Both strategies, both backends (a directory; GitHub's cache service through the real @actions/cache client
// against the test server), and the faults: corrupt or truncated entries, a service that fails, a full disk.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobResult, runJob, type RunJobOptions } from '../harness/runner.js';
import { type TestCacheServer, startCacheServer } from '../cache-server/server.js';
import { BUSYBOX, DIND_IMAGE, actionNode, expectNothingLeft, outerEngine, outerHost, picture, repoRoot } from './support.js';
import { DEFAULT_DIND_IMAGE } from '../../src/inputs/inputs.js';

const work = mkdtempSync(join(tmpdir(), 'sd-cache-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// @actions/cache puts the cached path into the entry's version, and real runners keep RUNNER_TEMP at one place
// (/home/runner/work/_temp): service-backed runs get one stable runner root, emptied before each run.
const stableRoot = join(work, 'runner-root');
function freshStableRoot(): string {
  rmSync(stableRoot, { recursive: true, force: true });
  mkdirSync(stableRoot, { recursive: true, mode: 0o755 });
  return stableRoot;
}

function job(options: Partial<RunJobOptions> & { with?: Record<string, string> }): Promise<JobResult> {
  const service = Boolean(options.env?.ACTIONS_RESULTS_URL);
  return runJob({
    ...(service ? { rootDir: freshStableRoot() } : {}),
    actionDir: repoRoot,
    nodePath: actionNode(),
    ...options,
    env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), ...options.env },
    with: { image: DIND_IMAGE, ...options.with },
  });
}

const LOAD = { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q` };
const HAS_BUSYBOX = { name: 'present', run: `docker image inspect ${BUSYBOX} --format present` };
const BUILD = { name: 'build', run: `mkdir -p ctx && printf 'FROM ${BUSYBOX}\\nRUN echo v2 > /v\\n' > ctx/Dockerfile && DOCKER_BUILDKIT=0 docker build -q -t cached/app:2 ctx` };
// The harness runs on refs/heads/main, not protected: a cache-dir keeps its entries in unprotected/main.
const REF_DIR = join('unprotected', 'main');
const entriesIn = (dir: string) => readdirSync(join(dir, REF_DIR)).filter((f) => f.endsWith('.tar.zst')).sort();
/** Every file under dir (any ref, any depth). */
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));

async function threeRuns(strategy: 'images' | 'data-root', extra: Record<string, string>, env: Record<string, string> = {}, entries: () => Promise<number> | number, expectedEntries = 2) {
  const before = await picture();
  // Run 1: cold daemon, the job loads an image, post saves.
  const run1 = await job({ env, with: { cache: strategy, 'cache-key': `${strategy}-v1`, ...extra }, steps: [LOAD] });
  // Run 2: a fresh daemon has the image before the first step; nothing changed, so no save.
  const run2 = await job({ env, with: { cache: strategy, 'cache-key': `${strategy}-v1`, ...extra }, steps: [HAS_BUSYBOX] });
  // Run 3: restores by prefix, adds an image, saves a new entry.
  const run3 = await job({ env, with: { cache: strategy, 'cache-key': `${strategy}-v2`, 'cache-restore-keys': `${strategy}-`, ...extra }, steps: [HAS_BUSYBOX, BUILD] });
  try {
    for (const r of [run1, run2, run3]) expect(r.jobStatus, r.log).toBe('success');
    expect(run1.outputs['cache-hit']).toBe('false');
    expect(run1.outputs['cache-matched-key']).toBe('');
    expect(run1.phase('post')!.stdout).toMatch(new RegExp(`saved ${strategy}-v1 \\(`));
    expect(run2.outputs['cache-hit']).toBe('true');
    expect(run2.outputs['cache-matched-key']).toBe(`${strategy}-v1`);
    expect(run2.phase('present')!.stdout).toContain('present');
    expect(run2.phase('post')!.stdout).toMatch(/not saved: the images are unchanged since the restore of/);
    // As actions/cache: a restore through a restore key is not a hit; the key it matched is its own output.
    expect(run3.outputs['cache-hit']).toBe('false');
    expect(run3.outputs['cache-matched-key']).toBe(`${strategy}-v1`);
    expect(run3.phase('post')!.stdout).toMatch(new RegExp(`saved ${strategy}-v2 \\(`));
    expect(await entries()).toBe(expectedEntries);
    await expectNothingLeft(before);
  } finally {
    await Promise.all([run1.cleanup(), run2.cleanup(), run3.cleanup()]);
  }
}

describe('directory backend', () => {
  for (const strategy of ['images', 'data-root'] as const) {
    it(`${strategy}: restored before the first step, saved only on change`, async () => {
      const dir = join(work, `dir-${strategy}`);
      // Run 3's entry supersedes run 1's (same restore prefix): a directory keeps only the newest.
      await threeRuns(strategy, { 'cache-dir': dir }, {}, () => entriesIn(dir).length, 1);
      expect(entriesIn(dir)).toEqual([`${strategy}-v2.tar.zst`]);
    });
  }

  it('a matrix of two legs with the default keys keeps two entries; each leg restores its own', async () => {
    const dir = join(work, 'matrix');
    const before = await picture();
    const leg = (docker: string, runId: string, steps: RunJobOptions['steps']) =>
      job({ runId, jobName: 'test', matrix: { values: { docker, os: 'linux' }, jobIndex: docker === '28' ? 0 : 1, jobTotal: 2 }, with: { cache: 'images', 'cache-dir': dir }, steps });
    const [a, b] = await Promise.all([leg('28', '501', [LOAD]), leg('29', '501', [LOAD, BUILD])]);
    const againA = await leg('28', '502', [HAS_BUSYBOX, { name: 'no app', run: '! docker image inspect cached/app:2 >/dev/null 2>&1' }]);
    try {
      for (const r of [a, b, againA]) expect(r.jobStatus, r.log).toBe('success');
      const [keyA, keyB] = [a.outputs['cache-key']!, b.outputs['cache-key']!];
      expect(keyA).toMatch(/_test_[0-9a-f]{12}_501-1$/);
      expect(keyA).not.toBe(keyB);
      expect(a.phase('post')!.stdout).toContain(`saved ${keyA}`);
      expect(b.phase('post')!.stdout).toContain(`saved ${keyB}`);
      expect(entriesIn(dir)).toEqual([keyA, keyB].map((k) => `${encodeURIComponent(k)}.tar.zst`).sort());
      // The next run of leg 28 gets leg 28's images (not leg 29's newer entry with cached/app:2).
      expect(againA.outputs['cache-matched-key']).toBe(keyA);
      expect(againA.phase('post')!.stdout).toMatch(/not saved: the images are unchanged/);
      await expectNothingLeft(before);
    } finally {
      await Promise.all([a.cleanup(), b.cleanup(), againA.cleanup()]);
    }
  });

  it('images in socket mode too', async () => {
    const dir = join(work, 'socket');
    // The bed already has the image, so on-change would rightly skip: always saves. image is dind-only, so it gets
    // back its default value here.
    const r = await job({ with: { mode: 'socket', image: DEFAULT_DIND_IMAGE, cache: 'images', 'cache-dir': dir, 'cache-images': BUSYBOX, 'cache-save': 'always' } });
    try {
      expect(r.jobStatus, r.log).toBe('success');
      expect(r.phase('post')!.stdout).toMatch(/saved setup-dind-images-/);
      expect(entriesIn(dir)).toHaveLength(1);
    } finally {
      await r.cleanup();
    }
  });

  // One seeding job per strategy: each fault gets its own copy of that job's cache directory, then damages it.
  const seeds = new Map<string, Promise<string>>();
  const seeded = (strategy: string) => {
    if (!seeds.has(strategy)) {
      seeds.set(strategy, (async () => {
        const dir = join(work, `seed-${strategy}`);
        const seed = await job({ with: { cache: strategy, 'cache-key': 'k', 'cache-dir': dir }, steps: [LOAD] });
        await seed.cleanup();
        expect(seed.jobStatus, seed.log).toBe('success');
        expect(entriesIn(dir)).toEqual(['k.tar.zst']);
        return dir;
      })());
    }
    return seeds.get(strategy)!;
  };
  for (const [fault, damage] of [
    ['a corrupt entry', (file: string) => writeFileSync(file, 'this is not zstd')],
    ['a truncated entry', (file: string) => truncateSync(file, Math.floor(statSync(file).size / 2))],
  ] as const) {
    for (const strategy of ['images', 'data-root'] as const) {
      it(`${strategy}: ${fault} gives a warning and a cold daemon, the job passes, nothing is left`, async () => {
        const dir = join(work, `damaged-${strategy}-${fault.replace(/ /g, '-')}`);
        cpSync(await seeded(strategy), dir, { recursive: true });
        damage(join(dir, REF_DIR, entriesIn(dir)[0]!));
        const before = await picture();
        const r = await job({ with: { cache: strategy, 'cache-key': 'k', 'cache-dir': dir, 'cache-save': 'never' }, steps: [{ name: 'empty', run: 'docker images -q | wc -l' }] });
        try {
          expect(r.jobStatus, r.log).toBe('success');
          expect(r.log).toMatch(/::warning::setup-dind cache: restoring from directory .* failed/);
          expect(r.outputs['cache-hit']).toBe('false');
          expect(r.phase('empty')!.stdout.trim()).toBe('0');
          await expectNothingLeft(before);
        } finally {
          await r.cleanup();
        }
      });
    }
  }

  it('a full disk while saving: a warning, no partial entry, the job passes', async () => {
    const dir = join(work, 'full');
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      const before = await picture();
      const r = await job({ with: { cache: 'images', 'cache-dir': dir }, steps: [LOAD] });
      try {
        expect(r.jobStatus, r.log).toBe('success');
        expect(r.phase('post')!.stdout).toMatch(/::warning::setup-dind cache: saving failed/);
        expect(filesUnder(dir)).toEqual([]);
        await expectNothingLeft(before);
      } finally {
        await r.cleanup();
      }
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('cache-max-size skips the save with a warning', async () => {
    const dir = join(work, 'small');
    const r = await job({ with: { cache: 'images', 'cache-dir': dir, 'cache-max-size': '1K' }, steps: [LOAD] });
    try {
      expect(r.jobStatus, r.log).toBe('success');
      expect(r.phase('post')!.stdout).toMatch(/::warning::setup-dind cache: not saved, .* is above cache-max-size/);
      expect(entriesIn(dir)).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });
});

// The build cache through a data-root round trip, on Docker 28.5 (sid) with BuildKit as users run it: the image's
// docker CLI and buildx (client: true), the docker driver. Both image stores, side by side: the classic one (overlay2,
// every data root made before Docker 29) and the containerd one (Docker 29's default for a fresh data root).
const SID = 'local/dind:sid';
const SLOW_BUILD = `mkdir -p bctx && printf 'FROM ${BUSYBOX}\\nRUN sleep 5 && echo built > /built\\n' > bctx/Dockerfile && docker buildx build --progress=plain -t cached/slow:1 bctx 2>&1`;
describe('data-root keeps the build cache (Docker 28.5 from sid, BuildKit through the image\'s buildx)', () => {
  it('an unchanged build in the next job reuses its RUN step, on the classic and the containerd image store', async (t) => {
    if (!(await outerEngine().imageExists(SID))) t.skip(`${SID} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const stores = { classic: {}, containerd: { 'daemon-config': '{"features":{"containerd-snapshotter":true}}' } };
    const runs: JobResult[] = [];
    try {
      await Promise.all(Object.entries(stores).map(async ([store, extra]) => {
        const cache = { image: SID, client: 'true', cache: 'data-root', 'cache-dir': join(work, `build-cache-${store}`), 'cache-key': `build-${store}`, ...extra };
        const first = await job({ with: cache, steps: [LOAD, { name: 'build', run: SLOW_BUILD }] });
        runs.push(first);
        expect(first.jobStatus, first.log).toBe('success');
        expect(first.phase('post')!.stdout, first.log).toMatch(new RegExp(`saved build-${store} \\(`));
        expect(first.phase('post')!.stdout).toMatch(/setup-dind cache: the data-root snapshot keeps up to 1024\.0 MB of build cache, the most recently used \(cache-build-size\)/);
        const second = await job({ with: { ...cache, 'cache-save': 'never' }, steps: [{ name: 'build', run: SLOW_BUILD }] });
        runs.push(second);
        expect(second.jobStatus, second.log).toBe('success');
        expect(second.outputs['cache-hit'], store).toBe('true');
        expect(second.outputs['storage-driver'], store).toBe(store === 'classic' ? 'overlay2' : 'overlayfs');
        // BuildKit's plain progress: the RUN step's vertex ends "CACHED" when it was reused, "DONE <seconds>" when it ran.
        const step = (r: JobResult) => /#(\d+) \[2\/2\] RUN sleep 5/.exec(r.phase('build')!.stdout)?.[1];
        expect(step(first), first.log).toBeDefined();
        expect(first.phase('build')!.stdout).toMatch(new RegExp(`^#${step(first)} DONE `, 'm'));
        expect(second.phase('build')!.stdout, `${store}: ${second.phase('build')!.stdout}`).toMatch(new RegExp(`^#${step(second)} CACHED$`, 'm'));
      }));
      await expectNothingLeft(before);
    } finally {
      for (const r of runs) await r.cleanup();
    }
  });
});

describe("GitHub's cache service (the real @actions/cache client against the test server)", () => {
  let server: TestCacheServer;
  beforeAll(async () => {
    server = await startCacheServer();
  });
  afterAll(async () => server?.close());

  for (const strategy of ['images', 'data-root'] as const) {
    it(`${strategy}: restored before the first step, saved only on change`, async () => {
      const countBefore = server.entries().length;
      await threeRuns(strategy, {}, server.env(), () => server.entries().filter((e) => e.finalized).length - countBefore);
    });
  }

  it('a service that answers 500 or hangs up mid-download: warnings, a cold daemon, the job passes', async () => {
    // Two series side by side, each on a service of its own (faults are per service): on this one, a seed and then
    // a job whose every blob download hangs up half-way (it never saves); on the other, a job that finds no entry
    // (no download) and saves, where CreateCacheEntry answers 500 (through the client's retries).
    const other = await startCacheServer();
    try {
      const before = await picture();
      other.faults.status = { route: 'CreateCacheEntry', code: 500 };
      const ownRoot = join(work, 'rr500');
      mkdirSync(ownRoot, { mode: 0o755 });
      const failingJob = job({ rootDir: ownRoot, env: other.env(), with: { cache: 'images', 'cache-key': 'svc-500' }, steps: [LOAD] });
      const truncatedJob = (async () => {
        const seed = await job({ env: server.env(), with: { cache: 'images', 'cache-key': 'svc-fault' }, steps: [LOAD] });
        await seed.cleanup();
        expect(seed.jobStatus, seed.log).toBe('success');
        server.faults.truncateDownload = true;
        try {
          return await job({ env: server.env(), with: { cache: 'images', 'cache-key': 'svc-fault', 'cache-save': 'never' }, steps: [{ name: 'empty', run: 'docker images -q | wc -l' }] });
        } finally {
          delete server.faults.truncateDownload;
        }
      })();
      const settled = await Promise.allSettled([truncatedJob, failingJob]);
      const [truncated, failing] = settled.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      try {
        if (!truncated || !failing) throw settled.find((r) => r.status === 'rejected')!.reason;
        expect(truncated.jobStatus, truncated.log).toBe('success');
        expect(truncated.phase('main')!.stdout).toMatch(/::warning::/);
        expect(truncated.outputs['cache-hit']).toBe('false');
        expect(truncated.phase('empty')!.stdout.trim()).toBe('0');
        expect(failing.jobStatus, failing.log).toBe('success');
        expect(failing.outputs['cache-hit']).toBe('false');
        expect(failing.phase('post')!.stdout).toMatch(/::warning::/);
        expect(server.requests.some((r) => r.fault === 'truncate')).toBe(true);
        expect(other.requests.some((r) => r.route === 'CreateCacheEntry' && r.fault === 'status')).toBe(true);
        await expectNothingLeft(before);
      } finally {
        await Promise.all([truncated?.cleanup(), failing?.cleanup()]);
      }
    } finally {
      await other.close();
    }
  });

  it("after a save, post removes the older entries of the key's prefix on the ref through the REST API; 403 is a notice", async () => {
    // Two runs with the default keys (prefix + run id): the second restores the first's entry, builds, saves its
    // own, and removes the first's (cache-keep 1). An entry of the prefix on another ref stays.
    const api = { githubToken: server.restToken, apiUrl: server.apiUrl };
    // The default key ends in <run id>-<attempt> after the leg's prefix (…_<job>_<leg>_).
    const prefixOf = (key: string) => key.replace(/[^_]+$/, '');
    const before = await picture();
    const first = await job({ ...api, runId: '7001', env: server.env(), with: { cache: 'images' }, steps: [LOAD] });
    await first.cleanup();
    expect(first.jobStatus, first.log).toBe('success');
    const firstKey = first.outputs['cache-key']!;
    const prefix = prefixOf(firstKey);
    const otherRef = server.addEntry({ key: `${prefix}9999-1`, ref: 'refs/heads/feature' });
    const second = await job({ ...api, runId: '7002', env: server.env(), with: { cache: 'images' }, steps: [HAS_BUSYBOX, BUILD] });
    try {
      expect(second.jobStatus, second.log).toBe('success');
      expect(second.outputs['cache-hit']).toBe('false');
      expect(second.outputs['cache-matched-key']).toBe(firstKey);
      const secondKey = second.outputs['cache-key']!;
      const post = second.phase('post')!.stdout;
      expect(post).toContain(`setup-dind cache: removed 1 older entry of ${prefix}* on refs/heads/main`);
      expect(post).not.toMatch(/::warning::/);
      expect(second.summary).toContain(`| \`${firstKey}\` |`);
      const left = server.entries().filter((e) => e.key.startsWith(prefix));
      expect(left.map((e) => `${e.ref} ${e.key}`).sort()).toEqual([`refs/heads/feature ${prefix}9999-1`, `refs/heads/main ${secondKey}`]);
      expect(left.find((e) => e.id === otherRef)).toBeDefined();
      // The token never shows in the log.
      expect(second.displayLog).not.toContain(server.restToken);
      await expectNothingLeft(before);
    } finally {
      await second.cleanup();
    }
    // A token without actions: write: a notice that says how to grant it, the entry stays, the job passes.
    server.permission = 'read';
    try {
      const third = await job({ ...api, runId: '7003', env: server.env(), with: { cache: 'images' }, steps: [HAS_BUSYBOX, { ...BUILD, run: BUILD.run.replace('v2', 'v3') }] });
      try {
        expect(third.jobStatus, third.log).toBe('success');
        const post = third.phase('post')!.stdout;
        expect(post).toMatch(/::notice::setup-dind cache: older entries of .* were not removed: .*403.*permissions: actions: write/);
        expect(post).not.toMatch(/::warning::/);
        expect(server.entries().filter((e) => e.key.startsWith(prefix) && e.ref === 'refs/heads/main')).toHaveLength(2);
      } finally {
        await third.cleanup();
      }
    } finally {
      server.permission = 'write';
    }
  });

  it('with the service down: a warning, the job passes', async () => {
    const down = await startCacheServer();
    const env = down.env();
    await down.close();
    const r = await job({ env, with: { cache: 'images' }, steps: [LOAD] });
    try {
      expect(r.jobStatus, r.log).toBe('success');
      expect(r.phase('main')!.stdout).toMatch(/::warning::/);
    } finally {
      await r.cleanup();
    }
  });
});
