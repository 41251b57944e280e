// Security and data hardening on a real engine: reserved dockerd flags in every form start nothing; no key material
// travels through the action's state.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTls } from '../../src/endpoint/tls.js';
import type { JobResult } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, dindJob, expectNothingLeft, outerEngine, outerHost, picture } from './support.js';
import { DEFAULT_DIND_IMAGE } from '../../src/inputs/inputs.js';

const TRIXIE = 'local/dind:trixie';

const work = mkdtempSync(join(tmpdir(), 'sd-hardening-e2e-'));

/** The engine's unix socket offered on a loopback TCP port (plain, as a remote engine without TLS would be). */
async function tcpToUnix(socketPath: string): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const engine = connect(socketPath);
    for (const s of [client, engine]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    client.pipe(engine).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
afterAll(() => rmSync(work, { recursive: true, force: true }));


describe('daemon-args', () => {
  const forms: [string, string][] = [
    ['-Htcp://0.0.0.0:2375', '--host (-H)'],
    ['-G0', '--group (-G)'],
    ['-D -Htcp://0.0.0.0:2375', '--host (-H)'],
    ['-DH tcp://0.0.0.0:2375', '--host (-H)'],
    ['--debug\n-H\ntcp://0.0.0.0:2375', '--host (-H)'],
    ['-H=unix:///tmp/x.sock', '--host (-H)'],
    ['--data-root /var/lib/elsewhere', '--data-root'],
    ['-g/var/lib/elsewhere', '--graph (-g)'],
    ['-Dp /tmp/x.pid', '--pidfile (-p)'],
    ['--tlsverify=false', '--tlsverify'],
  ];
  it('rejects every form of a reserved flag dockerd would accept, naming the flag; nothing is started or left', async () => {
    const before = await picture();
    for (const [value, flag] of forms) {
      const result = await dindJob({ with: { 'daemon-args': value }, steps: [{ name: 'never', run: 'true' }] });
      try {
        expect(result.jobStatus, value).toBe('failure');
        const pre = result.phase('pre')!.stdout;
        expect(pre, value).toContain(`sets ${flag}, which is set by the action itself`);
        expect(pre, value).toMatch(/Nothing was started/);
        expect(result.phase('never')!.ran).toBe(false);
        expect(result.phase('post')!.stdout).toMatch(/nothing to clean up/);
        expect(readdirSync(result.runnerTemp).filter((f) => f.startsWith('setup-dind')), value).toEqual([]);
        await expectNothingLeft(before);
      } finally {
        await result.cleanup();
      }
    }
  });
});

describe('secrets', () => {
  it("socket mode: the runner's own client.key is backed up in a private file, never in state, and restored", async () => {
    const certsDir = join(work, 'host-certs.d');
    const existing = join(certsDir, 'registry.test:5000');
    mkdirSync(existing, { recursive: true });
    const tls = generateTls({ serverNames: ['registry.test'] });
    writeFileSync(join(existing, 'client.cert'), tls.clientCert);
    writeFileSync(join(existing, 'client.key'), tls.clientKey, { mode: 0o600 });
    expect(tls.clientKey).toContain('PRIVATE KEY');
    const caFile = join(work, 'ca.pem');
    writeFileSync(caFile, tls.caCert);
    const result = await dindJob({
      env: { SETUP_DIND_HOST_CERTS_DIR: certsDir },
      with: { mode: 'socket', image: DEFAULT_DIND_IMAGE, 'registry-certs': `registry.test:5000=${caFile}` },
      steps: [{ name: 'during', run: `ls "${certsDir}/registry.test:5000"` }],
    });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      expect(result.phase('during')!.stdout.split('\n')).toEqual(['ca.crt', 'client.cert', 'client.key', '']);
      const stateText = JSON.stringify(result.state);
      expect(stateText).toContain('host-backup');
      expect(stateText).not.toContain('PRIVATE KEY');
      expect(stateText).not.toContain(tls.clientKey.split('\n')[1]);
      // Every STATE_ value a later phase received: the post phase's environment is what the runner stored.
      for (const phase of result.phases) expect(JSON.stringify(phase), phase.name).not.toContain('PRIVATE KEY');
      expect(readFileSync(join(existing, 'client.key'), 'utf8')).toBe(tls.clientKey);
      expect(statSync(join(existing, 'client.key')).mode & 0o777).toBe(0o600);
      expect(readdirSync(existing).sort()).toEqual(['client.cert', 'client.key']);
      expect(readdirSync(result.runnerTemp).filter((f) => f.startsWith('setup-dind'))).toEqual([]);
    } finally {
      await result.cleanup();
    }
  });
});

// The job's daemon starts empty and no registry is reachable: the image comes from the bed's engine.
const RUN_BUSYBOX = { name: 'run', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null && docker run --rm ${BUSYBOX} echo ran` };

describe('privilege', () => {
  it('auto on a host that withholds a capability: a warning and the summary say exactly what was granted; a container runs', async () => {
    const before = await picture();
    const result = await dindJob({ steps: [RUN_BUSYBOX] });
    try {
      expect(result.jobStatus, result.log).toBe('success');
      const warning = result.annotations.find((a) => a.level === 'warning' && /EVERY CAPABILITY EXCEPT/.test(a.message));
      expect(warning?.message, result.log).toMatch(/^The engine refused privileged \(.*unable to apply caps.*\)\. THE DAEMON'S CONTAINER RUNS WITH EVERY CAPABILITY EXCEPT SYS_RESOURCE: granted every capability except SYS_RESOURCE \(CapAdd ALL\).*nearly root.*Set privileged: false to grant only SYS_ADMIN/);
      expect(result.summary).toMatch(/\| Privileges \| every capability except SYS_RESOURCE \(CapAdd ALL\), .*nearly root on the runner host \|/);
      // pre left the check running while the daemon booted: main read its verdict instead of probing again, or (no
      // verdict yet) left it to gate the job's socket; the step's docker run came through either way.
      expect(result.summary).toMatch(/\| Container run check \| (a container started in \d+ ms|the container run check goes on in the background since pre: .*) \|/);
      expect(result.phase('main')!.stdout).toMatch(/the daemon started a test container in \d+ ms \(checked in the background since pre\)|the container run check goes on in the background since pre: the job's docker commands wait for its verdict/);
      expect(result.phase('run')!.stdout).toContain('ran');
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });

  it('false: the minimal set only, said in the summary, and no near-root fallback', async () => {
    const result = await dindJob({ with: { privileged: 'false' }, steps: [RUN_BUSYBOX] });
    try {
      expect(result.summary, result.log).toMatch(/\| Privileges \| Docker's default capabilities plus SYS_ADMIN, NET_ADMIN/);
      expect(result.log).not.toMatch(/CapAdd ALL|EVERY CAPABILITY/);
      // On this host the minimal set is enough; where it is not, main fails naming it (next test's path).
      expect(result.jobStatus, result.log).toBe('success');
      expect(result.phase('run')!.stdout).toContain('ran');
    } finally {
      await result.cleanup();
    }
  });

  const BROKEN = { 'daemon-args': '--add-runtime=broken=/bin/false --default-runtime=broken' };
  const CANNOT_RUN = /the daemon answers but cannot run a container \(.*\)\. Its container runs with every capability except SYS_RESOURCE.*Use a runner whose engine allows privileged containers/;

  it('a daemon that cannot run a container: the job\'s first docker command gets the reason, not the runtime\'s error (or main fails with it); post says it too', async () => {
    const before = await picture();
    const result = await dindJob({
      with: BROKEN,
      steps: [{ name: 'first', run: 'docker version' }, { name: 'never', run: 'true' }],
    });
    try {
      expect(result.jobStatus, result.log).toBe('failure');
      const main = result.phase('main')!;
      if (main.exitCode !== 0) {
        // The verdict was in before main ended.
        expect(main.stdout, result.log).toMatch(CANNOT_RUN);
      } else {
        // main ended first: the gate held the command until the verdict, then answered with its reason.
        const first = result.phase('first')!;
        expect(first.stderr, result.log).toMatch(new RegExp(`Error response from daemon: setup-dind: ${CANNOT_RUN.source}`));
        expect(first.exitCode).not.toBe(0);
        expect(result.annotations.some((a) => a.level === 'error' && CANNOT_RUN.test(a.message)), result.log).toBe(true);
      }
      expect(result.phase('never')!.ran).toBe(false);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });

  it('a daemon that answers but cannot run a container fails main with what it was granted and the remedy when main waits for the verdict; post cleans up', async () => {
    const before = await picture();
    // With an image cache main lists the daemon's images, and so waits for the check (its image must be gone).
    const result = await dindJob({
      with: { ...BROKEN, cache: 'images', 'cache-dir': join(work, 'cannot-run-cache'), 'cache-key': 'cannot-run' },
      steps: [{ name: 'never', run: 'true' }],
    });
    try {
      expect(result.jobStatus).toBe('failure');
      const main = result.phase('main')!;
      expect(main.stdout, result.log).toMatch(CANNOT_RUN);
      expect(result.phase('never')!.ran).toBe(false);
      await expectNothingLeft(before);
    } finally {
      await result.cleanup();
    }
  });
});

// An image whose second layer replaces a directory (an opaque directory in overlay2) and deletes a file (a whiteout).
const OPAQUE_BUILD = {
  name: 'build',
  run: [
    `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null`,
    'mkdir -p octx',
    `printf 'FROM ${BUSYBOX}\\nRUN mkdir -p /d/sub && echo old > /d/sub/gone && echo keep > /d/keep && echo x > /f\\nRUN rm -rf /d && mkdir /d && echo new > /d/new && rm /f\\n' > octx/Dockerfile`,
    'DOCKER_BUILDKIT=0 docker build -q -t local/opaque:1 octx >/dev/null',
    // A job that leaves a running container with a restart policy: the snapshot must not bring it back.
    `docker run -d --restart always --name left-running ${BUSYBOX} sleep 600 >/dev/null`,
  ].join(' && '),
};
// Every path of the image's filesystem, with a checksum for each regular file: compared file by file.
const LISTING = {
  name: 'listing',
  run: `docker run --rm local/opaque:1 sh -c 'find / -xdev ! -path "/proc*" ! -path "/sys*" ! -path "/dev*" ! -path "/etc/host*" ! -path /etc/resolv.conf ! -path /.dockerenv | sort | while read -r p; do if [ -f "$p" ] && [ ! -L "$p" ]; then echo "$p $(md5sum < "$p")"; else echo "$p"; fi; done'`,
};

// The default image's userland too: local/dind:sid-busybox has only BusyBox's tar (the runner's GNU tar does the work).
const SID_BUSYBOX = 'local/dind:sid-busybox';
describe('data-root snapshot', () => {
  it.for([DIND_IMAGE, SID_BUSYBOX])('%s: keeps opaque directories and deleted files through a cache-dir round trip, and restores no containers', async (image, t) => {
    if (!(await outerEngine().imageExists(image))) t.skip(`${image} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const cacheDir = join(work, `data-root-cache-${image.replace(/\W/g, '-')}`);
    const cache = { image, cache: 'data-root', 'cache-dir': cacheDir, 'cache-key': 'opaque-1' };
    const run1 = await dindJob({ with: cache, steps: [OPAQUE_BUILD, LISTING] });
    const run2 = await dindJob({ with: cache, steps: [LISTING, { name: 'containers', run: 'docker ps -aq | wc -l' }] });
    // The same engine over TCP, as a remote engine is reached: the init script could not be sure to see the job
    // directory's FIFO, so a helper container unpacks the entry before the daemon's container starts.
    const proxy = await tcpToUnix(outerHost().replace(/^unix:\/\//, ''));
    const run3 = await dindJob({ with: { ...cache, 'cache-save': 'never' }, env: { DOCKER_HOST: proxy.url }, steps: [LISTING] }).finally(() => proxy.close());
    try {
      expect(run1.jobStatus, run1.log).toBe('success');
      expect(run1.phase('post')!.stdout, run1.log).toMatch(/saved opaque-1 \(/);
      const saved = run1.phase('listing')!.stdout;
      expect(saved).toMatch(/^\/d\/new /m);
      expect(saved).not.toMatch(/^\/d\/sub|^\/d\/keep|^\/f$/m);
      expect(run2.jobStatus, run2.log).toBe('success');
      expect(run2.outputs['cache-hit']).toBe('true');
      expect(run2.phase('listing')!.stdout).toBe(saved);
      expect(run2.phase('containers')!.stdout.trim()).toBe('0');
      // run 2's own container unpacked the entry (it waited for that container to start); run 3's helper did.
      expect(run2.phase('pre')!.stdout).toMatch(/restored opaque-1 \(.*\) from directory .* in [\d.]+ s, besides [\d.]+ s waiting for the daemon's container to start\./);
      expect(run3.jobStatus, run3.log).toBe('success');
      expect(run3.outputs['cache-hit']).toBe('true');
      expect(run3.phase('pre')!.stdout).toMatch(/restored opaque-1 \(.*\) from directory .* in [\d.]+ s\./);
      expect(run3.phase('pre')!.stdout).not.toMatch(/waiting for the daemon's container/);
      expect(run3.phase('listing')!.stdout).toBe(saved);
      await expectNothingLeft(before);
    } finally {
      await run1.cleanup();
      await run2.cleanup();
      await run3.cleanup();
    }
  });

  // On dockerd 26 (trixie's docker.io, the official image's generation) when the bed has it: that dockerd waits for
  // open event streams (the port forwarder's) before it exits, which once made every clean stop for a save too slow.
  it("leaves the daemon's volumes out unless cache-volumes is true (dockerd 26 when built)", async () => {
    const image = (await outerEngine().imageExists(TRIXIE)) ? TRIXIE : undefined;
    const before = await picture();
    const FILL = {
      name: 'fill',
      run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null && docker volume create kept >/dev/null && docker run --rm -v kept:/v ${BUSYBOX} sh -c 'echo hello > /v/f'`,
    };
    const READ = { name: 'read', run: `if docker volume inspect kept >/dev/null 2>&1; then docker run --rm -v kept:/v ${BUSYBOX} cat /v/f; else echo no-volume; fi` };
    const runs: JobResult[] = [];
    try {
      for (const [key, extra, expected] of [['vol-default', {}, 'no-volume'], ['vol-kept', { 'cache-volumes': 'true' }, 'hello']] as const) {
        const cache = { cache: 'data-root', 'cache-dir': join(work, 'volumes-cache'), 'cache-key': key, ...extra };
        const first = await dindJob({ with: { ...cache, ...(image ? { image } : {}) }, steps: [FILL] });
        runs.push(first);
        expect(first.jobStatus, first.log).toBe('success');
        expect(first.phase('post')!.stdout, first.log).toMatch(new RegExp(`saved ${key} \\(`));
        const second = await dindJob({ with: { ...cache, ...(image ? { image } : {}) }, steps: [READ] });
        runs.push(second);
        expect(second.jobStatus, second.log).toBe('success');
        expect(second.outputs['cache-hit']).toBe('true');
        expect(second.phase('read')!.stdout.trim()).toBe(expected);
      }
      await expectNothingLeft(before);
    } finally {
      for (const r of runs) await r.cleanup();
    }
  });
});
