// A data-root snapshot made and unpacked through a dind image whose only tar is BusyBox's (the default docker:*-dind
// image's userland; the bed's local/dind:sid-busybox): the runner's GNU tar, copied into the job directory, does the
// work in the helper containers. The round trip is compared entry by entry on the volumes themselves (the bed's
// engine is local, its volumes' directories are readable here): whiteouts, opaque directories, every xattr, owners,
// modes, hard and symbolic links, device nodes, sparse files.
import { execFileSync } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { restoreDataRootSnapshot, snapshotDataRoot, type SnapshotPlace } from '../../src/cache/data-root.js';
import { consumeSource, fileTar } from '../../src/cache/tar-source.js';
import { BUSYBOX, docker, expectNothingLeft, outerEngine, picture } from './support.js';

const IMAGE = 'local/dind:sid-busybox';
const work = mkdtempSync(join(tmpdir(), 'sd-data-root-tar-'));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Fills a directory with every kind of entry a data root holds, or lists one (a line per entry: type, mode, owner,
// link count, device numbers, size, content digest or link target, every xattr, and which entries are one inode).
const TREE = String.raw`
import hashlib, os, stat, sys
mode, root = sys.argv[1], sys.argv[2]
if mode == 'fill':
    p = lambda *a: os.path.join(root, *a)
    os.makedirs(p('overlay2', 'l1', 'diff', 'opaque', 'sub'))
    os.setxattr(p('overlay2', 'l1', 'diff', 'opaque'), 'trusted.overlay.opaque', b'y')
    os.mknod(p('overlay2', 'l1', 'diff', 'gone'), stat.S_IFCHR | 0o000, os.makedev(0, 0))
    os.mknod(p('overlay2', 'l1', 'diff', 'null'), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(p('overlay2', 'l1', 'diff', 'loop'), stat.S_IFBLK | 0o660, os.makedev(7, 0))
    os.mkfifo(p('overlay2', 'l1', 'diff', 'pipe'), 0o600)
    with open(p('overlay2', 'l1', 'diff', 'setuid'), 'w') as f: f.write('#!/bin/sh\n')
    os.chmod(p('overlay2', 'l1', 'diff', 'setuid'), 0o4755)
    os.chown(p('overlay2', 'l1', 'diff', 'setuid'), 1234, 5678)
    os.makedirs(p('overlay2', 'l1', 'diff', 'tmp'))
    os.chmod(p('overlay2', 'l1', 'diff', 'tmp'), 0o1777)
    with open(p('overlay2', 'l1', 'diff', 'opaque', 'sub', 'file'), 'w') as f: f.write('content\n' * 100)
    os.setxattr(p('overlay2', 'l1', 'diff', 'opaque', 'sub', 'file'), 'user.note', b'kept')
    os.setxattr(p('overlay2', 'l1', 'diff', 'opaque', 'sub', 'file'), 'security.capability', bytes.fromhex('0100000200200000000000000000000000000000'))
    os.setxattr(p('overlay2', 'l1', 'diff', 'opaque', 'sub', 'file'), 'trusted.overlay.origin', b'\x00\xfb')
    os.link(p('overlay2', 'l1', 'diff', 'opaque', 'sub', 'file'), p('overlay2', 'l1', 'diff', 'hardlink'))
    os.symlink('opaque/sub/file', p('overlay2', 'l1', 'diff', 'symlink'))
    os.symlink('/dangling/target', p('overlay2', 'l1', 'diff', 'dangling'))
    os.lchown(p('overlay2', 'l1', 'diff', 'symlink'), 42, 43)
    with open(p('overlay2', 'l1', 'sparse'), 'wb') as f: f.seek(64 << 20); f.write(b'end')
    with open(p('engine-id'), 'w') as f: f.write('id\n')
    os.makedirs(p('buildkit'))
    with open(p('buildkit', '.hidden'), 'w') as f: f.write('dot\n')
else:
    inodes = {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(d, name); rel = os.path.relpath(full, root); st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                with open(full, 'rb') as f: what = hashlib.sha256(f.read()).hexdigest()
                inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode): what = '-> ' + os.readlink(full)
            else: what = ''
            dev = '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else ''
            xattrs = ','.join('%s=%s' % (k, os.getxattr(full, k, follow_symlinks=False).hex()) for k in sorted(os.listxattr(full, follow_symlinks=False)))
            size = st.st_size if not stat.S_ISDIR(st.st_mode) else ''
            print(rel, oct(st.st_mode), '%d:%d' % (st.st_uid, st.st_gid), st.st_nlink if not stat.S_ISDIR(st.st_mode) else '', dev, size, what, xattrs)
    for names in sorted(inodes.values()):
        if len(names) > 1: print('one inode:', ' '.join(sorted(names)))
`;
const tree = (mode: 'fill' | 'list', dir: string) => execFileSync('python3', ['-c', TREE, mode, dir], { encoding: 'utf8' });
const mountpoint = async (volume: string) => (await docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', volume])).trim();

describe('data-root snapshot with an image whose only tar is BusyBox\'s', () => {
  it("is exact through the runner's GNU tar: whiteouts, opaque directories, xattrs, owners, modes, links, devices", async (t) => {
    if (!(await outerEngine().imageExists(IMAGE))) t.skip(`${IMAGE} is not on the bed (bash test/bed/bed.sh start builds it)`);
    const before = await picture();
    const [from, to] = [`sd-exact-from-${process.pid}`, `sd-exact-to-${process.pid}`];
    const jobDir = mkdtempSync(join(work, 'job-'));
    try {
      for (const v of [from, to]) await docker(['volume', 'create', v]);
      tree('fill', await mountpoint(from));
      const saved = tree('list', await mountpoint(from));
      const place: SnapshotPlace = { engine: outerEngine(), image: IMAGE, volume: from, jobDir, hostJobDir: jobDir, labels: { 'sd-test': 'exact' } };
      const tar = await snapshotDataRoot(place);
      const file = join(work, 'snapshot.tar');
      await pipeline(tar.stream(), createWriteStream(file));
      await tar.made;
      await consumeSource(fileTar(file), (source) => restoreDataRootSnapshot({ ...place, volume: to }, source));
      const restored = tree('list', await mountpoint(to));
      expect(saved).toMatch(/^overlay2\/l1\/diff\/opaque 0o40755 0:0 .*trusted\.overlay\.opaque=79$/m);
      expect(saved).toMatch(/^one inode: overlay2\/l1\/diff\/hardlink overlay2\/l1\/diff\/opaque\/sub\/file$/m);
      expect(restored).toBe(saved);
      // The copy needs nothing of the image: it runs in one without any C library (the static busybox image).
      const command = readFileSync(join(jobDir, 'gnu-tar', '.command'), 'utf8').trim();
      expect(await docker(['run', '--rm', '--network', 'none', '-v', `${jobDir}:/run/setup-dind:ro`, BUSYBOX, 'sh', '-c', `[ ! -e /lib ] && ${command} --version`])).toMatch(/^tar \(GNU tar\)/);
      // Without a GNU tar anywhere (the runner's withheld, the image's is BusyBox's): one failure naming the remedy.
      const none = { ...place, tar: async () => ({ problem: 'the runner has no GNU tar with --xattrs on PATH' }) };
      await expect(snapshotDataRoot(none).then((s) => s.made)).rejects.toThrow(/save of the data root failed \(exit 90\): this image has no GNU tar .*, and the runner has no GNU tar with --xattrs on PATH; install GNU tar on the runner \(apt-get install tar\) or use a dind image that has it \(apk add tar\)$/);
    } finally {
      for (const v of [from, to]) await docker(['volume', 'rm', '-f', v]).catch(() => undefined);
    }
    await expectNothingLeft(before);
  });
});
