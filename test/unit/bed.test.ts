// The test bed trusts a cached dind root file system only by its content: a directory, a truncated or corrupt file,
// or a tar without dockerd is rebuilt, never imported.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bed = join(import.meta.dirname, '..', 'bed', 'bed.sh');
const scratch = mkdtempSync(join(tmpdir(), 'sd-bed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const accepted = (file: string) => run('bash', [bed, 'check-rootfs', file]).then(() => true, () => false);

/** A tar of a tree holding the given files (paths as mmdebstrap writes them, under ./). */
async function tarOf(name: string, files: string[]): Promise<string> {
  const tree = join(scratch, `${name}.tree`);
  for (const f of files) {
    mkdirSync(join(tree, f, '..'), { recursive: true });
    writeFileSync(join(tree, f), '#!/bin/sh\n');
  }
  const out = join(scratch, `${name}.tar`);
  await run('tar', ['-C', tree, '-cf', out, '.']);
  return out;
}

describe('bed.sh check-rootfs', () => {
  it('accepts a tar that holds dockerd and iptables (Debian: /usr/sbin) and the docker CLI', async () => {
    expect(await accepted(await tarOf('good', ['usr/sbin/dockerd', 'usr/sbin/iptables', 'usr/bin/docker', 'etc/hostname']))).toBe(true);
  });

  it('refuses a directory, a missing file, garbage, a truncated tar and a tar without dockerd', async () => {
    const dir = join(scratch, 'dind-rootfs.tar');
    mkdirSync(join(dir, 'usr', 'sbin'), { recursive: true });
    writeFileSync(join(dir, 'usr', 'sbin', 'dockerd'), '');
    expect(await accepted(dir)).toBe(false);
    expect(await accepted(join(scratch, 'absent.tar'))).toBe(false);
    const garbage = join(scratch, 'garbage.tar');
    writeFileSync(garbage, 'not a tar at all\n'.repeat(100));
    expect(await accepted(garbage)).toBe(false);
    const good = await tarOf('cut', ['usr/sbin/iptables', 'usr/bin/docker', ...Array.from({ length: 40 }, (_, i) => `usr/share/f${i}`), 'usr/sbin/dockerd']);
    const { size } = await import('node:fs').then((fs) => fs.statSync(good));
    const truncated = join(scratch, 'truncated.tar');
    await run('sh', ['-c', `head -c ${Math.floor(size / 3)} "${good}" > "${truncated}"`]);
    expect(await accepted(truncated)).toBe(false);
    expect(await accepted(await tarOf('no-dockerd', ['usr/sbin/iptables', 'usr/bin/docker']))).toBe(false);
    // A suite whose docker.io has no CLI (trixie packages it apart): the client input needs one in the image.
    expect(await accepted(await tarOf('no-cli', ['usr/sbin/iptables', 'usr/sbin/dockerd']))).toBe(false);
  });
});
