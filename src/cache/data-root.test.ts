import { describe, expect, it } from 'vitest';
import type { EngineClient } from '../engine/client.js';
import { SNAPSHOT_EXCLUDES, SNAPSHOT_SCRIPT, helperSpec } from './data-root.js';

const place = { engine: {} as EngineClient, image: 'docker:29-dind', volume: 'setup-dind-s1', jobDir: '/tmp/j', hostJobDir: '/host/j', labels: { a: 'b' } };

describe('data-root snapshot helper', () => {
  it('saves from a read-only volume with GNU tar keeping every extended attribute, leaving runtime state out', () => {
    const spec = helperSpec(place, 'save', 'snapshot-1.fifo');
    expect(spec.Cmd).toEqual(['save', '/run/setup-dind/snapshot-1.fifo', ...SNAPSHOT_EXCLUDES]);
    expect(SNAPSHOT_EXCLUDES).toEqual(expect.arrayContaining(['./containers', './network', './runtimes', './tmp', './volumes']));
    expect(spec.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'setup-dind-s1', Target: '/var/lib/docker', ReadOnly: true },
      { Type: 'bind', Source: '/host/j', Target: '/run/setup-dind' },
    ]);
    expect(spec.HostConfig.CapAdd).toEqual(['SYS_ADMIN']);
    expect(spec.HostConfig.Privileged).toBeUndefined();
    expect(spec.HostConfig.NetworkMode).toBe('none');
    expect(spec.Labels).toEqual({ a: 'b' });
    expect(SNAPSHOT_SCRIPT).toMatch(/--xattrs --xattrs-include='\*' --numeric-owner/);
  });

  it("keeps the engine's ID and BuildKit's state: the classic store's build cache is the worker's of that ID", () => {
    const excluded = helperSpec(place, 'save', 'f').Cmd!.slice(2);
    for (const kept of ['./engine-id', './buildkit', './image', './overlay2', './containerd/daemon/io.containerd.snapshotter.v1.overlayfs']) {
      expect(excluded.some((x) => kept === x || kept.startsWith(`${x}/`)), kept).toBe(false);
    }
  });

  it('keeps the daemon\'s volumes only with cache-volumes', () => {
    expect(helperSpec(place, 'save', 'f').Cmd).toContain('./volumes');
    const withVolumes = helperSpec({ ...place, volumes: true }, 'save', 'f').Cmd!;
    expect(withVolumes).not.toContain('./volumes');
    expect(withVolumes).toEqual(expect.arrayContaining(['./containers', './network', './runtimes']));
  });

  it('restores into a writable volume, reading the FIFO in full records', () => {
    const spec = helperSpec(place, 'restore', 'snapshot-2.fifo');
    expect(spec.Cmd).toEqual(['restore', '/run/setup-dind/snapshot-2.fifo']);
    expect(spec.HostConfig.Mounts![0]).toEqual({ Type: 'volume', Source: 'setup-dind-s1', Target: '/var/lib/docker' });
    expect(SNAPSHOT_SCRIPT).toMatch(/--extract --read-full-records/);
  });
});
