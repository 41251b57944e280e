import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HostChanges, PrivilegedFiles, configureHostDaemon, hostPaths, installHostCerts, restoreHostCerts, restoreHostDaemon } from './host.js';

const asRoot = process.getuid?.() === 0;

function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'host-'));
  const paths = hostPaths({
    SETUP_DIND_HOST_CERTS_DIR: join(root, 'certs.d'),
    SETUP_DIND_HOST_DAEMON_JSON: join(root, 'daemon.json'),
    SETUP_DIND_HOST_DOCKERD_PIDFILE: join(root, 'docker.pid'),
  });
  return { root, paths };
}

/** A stand-in for dockerd that counts the SIGHUPs it gets. */
async function fakeDaemon(pidFile: string) {
  const child = spawn(process.execPath, ['-e', "let n=0;process.on('SIGHUP',()=>console.log('hup',++n));setInterval(()=>{},1000);process.stdout.write('ready\\n')"], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  writeFileSync(pidFile, `${child.pid}\n`);
  return { hups: () => (out.match(/hup/g) ?? []).length, stop: () => child.kill('SIGKILL') };
}

describe.skipIf(!asRoot)('host certs.d (as root)', () => {
  it('installs per-registry files and restores exactly what was there', async () => {
    const { paths } = fixture();
    const existing = join(paths.certsDir, 'registry.example.com:5000');
    mkdirSync(existing, { recursive: true });
    writeFileSync(join(existing, 'ca.crt'), 'OLD CA', { mode: 0o640 });
    const oldKey = '-----BEGIN PRIVATE KEY-----\nOLDKEYBODY\n-----END PRIVATE KEY-----\n';
    writeFileSync(join(existing, 'client.key'), oldKey, { mode: 0o600 });
    const backupDir = join(paths.certsDir, '..', 'job', 'host-backup');
    let recorded: HostChanges['certDirs'] = [];
    await installHostCerts(
      [
        { path: 'registry.example.com:5000/ca.crt', content: 'NEW CA', mode: 0o644 },
        { path: 'registry.example.com:5000/client.key', content: 'KEY', mode: 0o600 },
        { path: 'mirror.test/ca.crt', content: 'MIRROR CA', mode: 0o644 },
      ],
      paths,
      new PrivilegedFiles(true),
      (c) => (recorded = structuredClone(c)),
      backupDir,
    );
    // What goes into state holds paths, never the content: the old client key stays in a private file.
    expect(JSON.stringify(recorded)).not.toMatch(/PRIVATE KEY|OLDKEYBODY|OLD CA/);
    expect(statSync(join(backupDir, '0')).mode & 0o777).toBe(0o700);
    for (const file of recorded[0]!.before!) expect(statSync(file.backup).mode & 0o777, file.name).toBe(0o600);
    expect(readFileSync(join(existing, 'ca.crt'), 'utf8')).toBe('NEW CA');
    expect(statSync(join(existing, 'client.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(paths.certsDir, 'mirror.test', 'ca.crt'), 'utf8')).toBe('MIRROR CA');
    expect(recorded.map((c) => c.before === null)).toEqual([false, true]);

    await restoreHostCerts(recorded, new PrivilegedFiles(true));
    expect(readdirSync(existing)).toEqual(['ca.crt', 'client.key']);
    expect(readFileSync(join(existing, 'ca.crt'), 'utf8')).toBe('OLD CA');
    expect(readFileSync(join(existing, 'client.key'), 'utf8')).toBe(oldKey);
    expect(statSync(join(existing, 'client.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(existing, 'ca.crt')).mode & 0o777).toBe(0o640);
    expect(existsSync(join(paths.certsDir, 'mirror.test'))).toBe(false);
  });

  it('refuses to replace something that is not a plain file', async () => {
    const { paths } = fixture();
    mkdirSync(join(paths.certsDir, 'r.test', 'nested'), { recursive: true });
    await expect(installHostCerts([{ path: 'r.test/ca.crt', content: 'x', mode: 0o644 }], paths, new PrivilegedFiles(true), () => {}, join(paths.certsDir, '..', 'backup'))).rejects.toThrow(/is not a plain file/);
  });
});

const backupOf = (paths: { certsDir: string }) => join(paths.certsDir, '..', 'job', 'host-backup', 'daemon-json');

describe.skipIf(!asRoot)('host daemon.json (as root)', () => {
  it('merges, reloads, and restores a missing file as missing', async () => {
    const { paths } = fixture();
    const daemon = await fakeDaemon(paths.pidFile);
    try {
      let change: HostChanges['daemonJson'];
      await configureHostDaemon({ 'registry-mirrors': ['https://mirror.test'] }, paths, new PrivilegedFiles(true), (c) => (change = c), backupOf(paths));
      expect(change!.backup).toBeNull();
      expect(JSON.parse(readFileSync(paths.daemonJson, 'utf8'))).toEqual({ 'registry-mirrors': ['https://mirror.test'] });
      await expect.poll(daemon.hups).toBe(1);
      // The reload sees explicit original values: dockerd leaves keys absent from the file as they are.
      let atReload = '';
      await restoreHostDaemon(change!, new PrivilegedFiles(true), async () => void (atReload = readFileSync(paths.daemonJson, 'utf8')));
      expect(JSON.parse(atReload)).toEqual({ 'registry-mirrors': [] });
      expect(existsSync(paths.daemonJson)).toBe(false);
      await expect.poll(daemon.hups).toBe(2);
    } finally {
      daemon.stop();
    }
  });

  it('keeps the administrator\'s settings: lists merge, a different scalar is an error', async () => {
    const { paths } = fixture();
    const original = '{ "registry-mirrors": ["https://a.test"], "debug": true }\n';
    writeFileSync(paths.daemonJson, original);
    const daemon = await fakeDaemon(paths.pidFile);
    try {
      let change: HostChanges['daemonJson'];
      await configureHostDaemon({ 'registry-mirrors': ['https://b.test', 'https://a.test'] }, paths, new PrivilegedFiles(true), (c) => (change = c), backupOf(paths));
      // The runner's file (it may hold credentials) is a private copy in the job directory; the change names its path only.
      expect(JSON.stringify(change)).not.toContain('a.test');
      expect(readFileSync(change!.backup!, 'utf8')).toBe(original);
      expect(statSync(change!.backup!).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(change!.backup!)).mode & 0o777).toBe(0o700);
      expect(JSON.parse(readFileSync(paths.daemonJson, 'utf8'))['registry-mirrors']).toEqual(['https://a.test', 'https://b.test']);
      await restoreHostDaemon(change!, new PrivilegedFiles(true));
      expect(readFileSync(paths.daemonJson, 'utf8')).toBe(original);
      await expect(configureHostDaemon({ debug: false }, paths, new PrivilegedFiles(true), () => {}, backupOf(paths))).rejects.toThrow(/already sets "debug" to true/);
      writeFileSync(paths.daemonJson, '{oops');
      await expect(configureHostDaemon({ debug: false }, paths, new PrivilegedFiles(true), () => {}, backupOf(paths))).rejects.toThrow(/is not valid JSON/);
    } finally {
      daemon.stop();
    }
  });

  it('says which pid file it needs', async () => {
    const { paths } = fixture();
    await expect(configureHostDaemon({ a: 1 }, paths, new PrivilegedFiles(true), () => {}, backupOf(paths))).rejects.toThrow(/cannot read dockerd's pid file .*SETUP_DIND_HOST_DOCKERD_PIDFILE/);
  });
});
