import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBE_IMAGE, probeImageArchive, reachedExec } from './run-probe.js';

describe('the run probe', () => {
  it('builds a docker save archive that GNU tar reads: one empty layer whose digest the config names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-probe-'));
    try {
      writeFileSync(join(dir, 'image.tar'), probeImageArchive('amd64'));
      expect(execFileSync('tar', ['tf', join(dir, 'image.tar')], { encoding: 'utf8' }).split('\n')).toEqual(['config.json', 'layer/layer.tar', 'manifest.json', '']);
      execFileSync('tar', ['xf', join(dir, 'image.tar'), '-C', dir]);
      expect(execFileSync('tar', ['tf', join(dir, 'layer', 'layer.tar')], { encoding: 'utf8' })).toBe('');
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config.rootfs.diff_ids).toEqual([`sha256:${createHash('sha256').update(readFileSync(join(dir, 'layer', 'layer.tar'))).digest('hex')}`]);
      expect(config.architecture).toBe('amd64');
      expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))[0].RepoTags).toEqual([PROBE_IMAGE]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts a missing program as a container that would have run, and anything earlier as a failure', () => {
    expect(reachedExec('starting container 1234 failed: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/setup-dind-probe-no-such-program": stat /setup-dind-probe-no-such-program: no such file or directory: unknown')).toBe(true);
    expect(reachedExec('OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting "proc" to rootfs at "/proc": operation not permitted')).toBe(false);
    expect(reachedExec('failed to create endpoint on network bridge: iptables failed: no such file or directory')).toBe(false);
  });
});
