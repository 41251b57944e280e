// The containerd image store (Docker 29's default for a fresh data root; features.containerd-snapshotter on Docker
// 28.5, the bed's local/dind:sid): the images strategy with an image pulled for one platform of a multi-platform
// index, whose other platform's blobs the daemon never fetched. The index is built here (two platforms, OCI media
// types) and pushed over the registry's HTTP API to a registry on loopback and a test network.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../harness/runner.js';
import { type TestRegistry, startRegistry } from './registry-fixture.js';
import { BUSYBOX, dindJob, docker, expectNothingLeft, outerEngine, picture } from './support.js';

const SID = 'local/dind:sid';
const CONTAINERD_STORE = '{"features":{"containerd-snapshotter":true}}';
const work = mkdtempSync(join(tmpdir(), 'sd-image-store-'));
let registry: TestRegistry | undefined;
/** The arm64 layer's digest (never fetched by an amd64 pull). */
let arm64Layer = '';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function http(method: string, port: number, path: string, body?: Buffer, type?: string): Promise<{ status: number; location?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { ...(type ? { 'content-type': type } : {}), 'content-length': body?.length ?? 0 } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function pushBlob(port: number, repo: string, blob: Buffer): Promise<void> {
  const start = await http('POST', port, `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202 || !start.location) throw new Error(`starting a blob upload: ${start.status} ${start.text}`);
  const url = new URL(start.location, `http://127.0.0.1:${port}`);
  url.searchParams.set('digest', sha(blob));
  const done = await http('PUT', port, `${url.pathname}${url.search}`, blob, 'application/octet-stream');
  if (done.status !== 201) throw new Error(`uploading ${sha(blob)}: ${done.status} ${done.text}`);
}

/** multi/app:1, an OCI index for linux/amd64 (busybox's layer and config) and linux/arm64 (a layer of its own). */
async function pushIndex(port: number): Promise<void> {
  const dir = join(work, 'busybox');
  mkdirSync(dir);
  execFileSync('sh', ['-c', `docker save ${BUSYBOX} | tar -x -C "${dir}"`]);
  const [saved] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  const other = join(work, 'arm64');
  mkdirSync(join(other, 'root'), { recursive: true });
  writeFileSync(join(other, 'root', 'only-on-arm64'), 'arm64\n');
  execFileSync('tar', ['-C', join(other, 'root'), '-cf', join(other, 'layer.tar'), '.']);
  const platforms = [
    { platform: { architecture: 'amd64', os: 'linux' }, layer: readFileSync(join(dir, saved!.Layers[0]!)), config: readFileSync(join(dir, saved!.Config)) },
    { platform: { architecture: 'arm64', os: 'linux' }, layer: readFileSync(join(other, 'layer.tar')), config: Buffer.alloc(0) },
  ];
  platforms[1]!.config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(platforms[1]!.layer)] } }));
  arm64Layer = sha(platforms[1]!.layer);
  const manifests = [];
  for (const p of platforms) {
    await pushBlob(port, 'multi/app', p.layer);
    await pushBlob(port, 'multi/app', p.config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(p.config), size: p.config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(p.layer), size: p.layer.length }],
    }));
    const put = await http('PUT', port, `/v2/multi/app/manifests/${sha(manifest)}`, manifest, 'application/vnd.oci.image.manifest.v1+json');
    if (put.status !== 201) throw new Error(`putting the ${p.platform.architecture} manifest: ${put.status} ${put.text}`);
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, platform: p.platform });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  const put = await http('PUT', port, '/v2/multi/app/manifests/1', index, 'application/vnd.oci.image.index.v1+json');
  if (put.status !== 201) throw new Error(`putting the index: ${put.status} ${put.text}`);
}

beforeAll(async () => {
  if (!(await outerEngine().imageExists(SID))) return;
  registry = await startRegistry({ alias: 'multi.test', tls: 'none' });
  await pushIndex(registry.hostPort);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the containerd image store (Docker 28.5 from sid with containerd-snapshotter)', () => {
  it('images: an image pulled for one platform of a multi-platform index is saved for the daemon\'s platform and restored', async (t) => {
    if (!registry) t.skip(`${SID} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const image = `${registry!.address}/multi/app:1`;
    const cache = {
      image: SID, network: registry!.network, 'insecure-registries': registry!.address, 'daemon-config': CONTAINERD_STORE,
      cache: 'images', 'cache-dir': join(work, 'cache'), 'cache-key': 'multi-1',
    };
    const runs: JobResult[] = [];
    try {
      const first = await dindJob({ with: cache, steps: [{ name: 'pull', run: `docker pull -q ${image} && docker image inspect -f '{{.Architecture}}' ${image}` }] });
      runs.push(first);
      expect(first.jobStatus, first.log).toBe('success');
      expect(first.phase('pull')!.stdout.trim().split('\n').at(-1)).toBe('amd64');
      expect(first.outputs['storage-driver']).toBe('overlayfs');
      expect(first.summary).toContain('| Storage driver | overlayfs snapshotter (containerd image store) |');
      expect(first.phase('post')!.stdout, first.log).toMatch(/saved multi-1 \(/);
      // Partly pulled: the daemon never fetched the arm64 layer.
      expect(await registry!.logs()).not.toContain(`/blobs/${arm64Layer}`);
      // The next job restores it and runs it; then it has both platforms (an arm64 pull), and its save is the
      // daemon's own platform only.
      const second = await dindJob({
        with: { ...cache, 'cache-key': 'multi-2', 'cache-restore-keys': 'multi-1', 'cache-save': 'always' },
        steps: [{ name: 'run', run: `docker run --rm --network none ${image} sh -c 'echo ran; ls /only-on-arm64 2>/dev/null || echo amd64-only' && docker pull -q --platform linux/arm64 ${image} >/dev/null` }],
      });
      runs.push(second);
      expect(second.jobStatus, second.log).toBe('success');
      expect(second.outputs['cache-matched-key']).toBe('multi-1');
      expect(second.phase('run')!.stdout).toContain('ran\namd64-only');
      expect(await registry!.logs()).toContain(`/blobs/${arm64Layer}`);
      const entry = execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -t', 'list', join(work, 'cache', 'unprotected', 'main', 'multi-2.tar.zst')], { encoding: 'utf8' });
      expect(entry).toContain('index.json');
      expect(entry).not.toContain(arm64Layer.replace('sha256:', ''));
      await expectNothingLeft(before);
    } finally {
      for (const r of runs) await r.cleanup();
    }
  });

  it('data-root: a classic snapshot restored into a daemon on the containerd store is kept, with one warning naming the remedy', async (t) => {
    if (!registry) t.skip(`${SID} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const cache = { image: SID, cache: 'data-root', 'cache-dir': join(work, 'stores'), 'cache-key': 'store-1' };
    const runs: JobResult[] = [];
    try {
      const classic = await dindJob({ with: cache, steps: [{ name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q` }] });
      runs.push(classic);
      expect(classic.jobStatus, classic.log).toBe('success');
      expect(classic.outputs['storage-driver']).toBe('overlay2');
      const switched = await dindJob({ with: { ...cache, 'daemon-config': CONTAINERD_STORE, 'cache-save': 'never' }, steps: [{ name: 'images', run: 'docker images -q | wc -l' }] });
      runs.push(switched);
      expect(switched.jobStatus, switched.log).toBe('success');
      expect(switched.outputs['cache-hit']).toBe('true');
      expect(switched.outputs['storage-driver']).toBe('overlayfs');
      expect(switched.phase('images')!.stdout.trim()).toBe('0');
      const warnings = switched.log.split('\n').filter((l) => l.includes('::warning::setup-dind cache'));
      expect(warnings).toEqual([expect.stringMatching(/the restored data root holds images of the classic image store \(1 repositories\), but this daemon uses the containerd image store \(overlayfs snapshotter\).*Remove features\.containerd-snapshotter/)]);
      // The same snapshot into a classic daemon again: its images, no warning.
      const back = await dindJob({ with: { ...cache, 'cache-save': 'never' }, steps: [{ name: 'images', run: 'docker images -q | wc -l' }] });
      runs.push(back);
      expect(back.jobStatus, back.log).toBe('success');
      expect(back.phase('images')!.stdout.trim()).toBe('1');
      expect(back.log).not.toContain('::warning::setup-dind cache');
      await expectNothingLeft(before);
    } finally {
      for (const r of runs) await r.cleanup();
    }
  });
});
