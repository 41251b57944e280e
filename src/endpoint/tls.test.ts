import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generateTls, writeTls, type TlsFiles } from './tls.js';

const OPENSSL = '/usr/bin/openssl';
const NOW = new Date('2030-06-15T12:00:00Z');

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'setup-dind-tls-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const parse = (f: TlsFiles) => ({
  ca: new X509Certificate(f.caCert),
  server: new X509Certificate(f.serverCert),
  client: new X509Certificate(f.clientCert),
});

describe('generateTls', () => {
  const files = generateTls({ serverNames: ['127.0.0.1', '::1', 'localhost', 'docker'], now: NOW });
  const { ca, server, client } = parse(files);

  it('makes a self-signed CA and leaves issued and signed by it', () => {
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=setup-dind CA');
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    for (const leaf of [server, client]) {
      expect(leaf.ca).toBe(false);
      expect(leaf.issuer).toBe('CN=setup-dind CA');
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.verify(leaf.publicKey)).toBe(false);
    }
    expect(client.subject).toBe('CN=setup-dind client');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('puts serverNames in the SAN and only there', () => {
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, DNS:docker');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.checkHost('docker')).toBe('docker');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.2')).toBeUndefined();
    expect(server.checkHost('evil.example')).toBeUndefined();
    expect(client.subjectAltName).toBeUndefined();
  });

  it('sets extended key usage per role', () => {
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('encodes keyUsage as a minimal DER named-bit BIT STRING', () => {
    // OID 2.5.29.15, critical TRUE, OCTET STRING { BIT STRING (unused bits, bits) }
    const ku = (unused: number, bits: number) => Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, unused, bits]);
    expect(ca.raw.includes(ku(1, 0x06))).toBe(true); // keyCertSign(5) + cRLSign(6)
    expect(server.raw.includes(ku(3, 0x88))).toBe(true); // digitalSignature(0) + keyAgreement(4)
    expect(client.raw.includes(ku(3, 0x88))).toBe(true);
  });

  it('uses random positive 16-byte serials', () => {
    const serials = [ca, server, client].map((c) => c.serialNumber);
    for (const s of serials) {
      expect(s).toMatch(/^[0-7][0-9A-F]{31}$/);
      expect(s.startsWith('00')).toBe(false);
    }
    expect(new Set(serials).size).toBe(3);
  });

  it('is valid from now-5min for validDays', () => {
    for (const c of [ca, server, client]) {
      expect(new Date(c.validFrom).getTime()).toBe(NOW.getTime() - 5 * 60_000);
      expect(new Date(c.validTo).getTime()).toBe(NOW.getTime() + 7 * 86_400_000);
    }
    const short = new X509Certificate(generateTls({ serverNames: ['docker'], now: NOW, validDays: 1 }).serverCert);
    expect(new Date(short.validTo).getTime()).toBe(NOW.getTime() + 86_400_000);
  });

  it('switches from UTCTime to GeneralizedTime at 2050', () => {
    const f = generateTls({ serverNames: ['docker'], now: new Date('2049-12-31T00:00:00Z'), validDays: 2 });
    const raw = new X509Certificate(f.serverCert).raw;
    const utc = Buffer.concat([Buffer.from([0x17, 13]), Buffer.from('491230235500Z')]);
    const gen = Buffer.concat([Buffer.from([0x18, 15]), Buffer.from('20500102000000Z')]);
    expect(raw.includes(utc)).toBe(true);
    expect(raw.includes(gen)).toBe(true);
    expect(new Date(new X509Certificate(f.serverCert).validTo).toISOString()).toBe('2050-01-02T00:00:00.000Z');
  });

  it('returns PKCS#8 keys matching their certificates', () => {
    for (const [cert, key] of [[server, files.serverKey], [client, files.clientKey]] as const) {
      expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(cert.checkPrivateKey(createPrivateKey(key))).toBe(true);
    }
    expect(server.checkPrivateKey(createPrivateKey(files.clientKey))).toBe(false);
    expect(ca.checkPrivateKey(createPrivateKey(files.serverKey))).toBe(false);
    expect(files.caCert).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  });

  it('passes openssl verify -x509_strict with the right purposes', async () => {
    const dir = join(tmp, 'openssl');
    const p = await writeTls(dir, generateTls({ serverNames: ['127.0.0.1', 'docker'] }));
    const ca = join(p.serverDir, 'ca.pem');
    const serverPem = join(p.serverDir, 'server-cert.pem');
    const clientPem = join(p.clientDir, 'cert.pem');
    const verify = (purpose: string, pem: string) =>
      execFileSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', ca, '-purpose', purpose, pem], { encoding: 'utf8', stdio: 'pipe' });
    expect(execFileSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', ca, serverPem], { encoding: 'utf8' })).toContain(': OK');
    expect(verify('sslserver', serverPem)).toContain(': OK');
    expect(verify('sslclient', clientPem)).toContain(': OK');
    expect(() => verify('sslclient', serverPem)).toThrow();
    expect(() => verify('sslserver', clientPem)).toThrow();
    // A foreign CA must not verify our leaves.
    const other = join(tmp, 'other-ca.pem');
    writeFileSync(other, generateTls({ serverNames: ['docker'] }).caCert);
    expect(() => execFileSync(OPENSSL, ['verify', '-CAfile', other, serverPem], { stdio: 'pipe' })).toThrow();

    const text = (pem: string) => execFileSync(OPENSSL, ['x509', '-noout', '-text', '-in', pem], { encoding: 'utf8' });
    const caText = text(ca);
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(caText).toContain('Subject Key Identifier');
    expect(caText).toContain('ecdsa-with-SHA256');
    const srvText = text(serverPem);
    expect(srvText).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(srvText).toMatch(/Key Usage: critical\s+Digital Signature, Key Agreement\n/);
    expect(srvText).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(srvText).toMatch(/Subject Alternative Name:\s+IP Address:127.0.0.1, DNS:docker\n/);
    expect(srvText).toContain('Authority Key Identifier');
    expect(srvText).toContain('Version: 3 (0x2)');
    expect(text(clientPem)).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
  });

  it('rejects bad serverNames, naming the value', () => {
    expect(() => generateTls({ serverNames: [] })).toThrow(/serverNames/);
    for (const bad of ['docker host', '-docker', 'docker-', 'a..b', '256.1.1.1', 'fe80::1%eth0', '', 'x'.repeat(64), 'dö.cker', 'http://docker']) {
      expect(() => generateTls({ serverNames: ['127.0.0.1', bad] })).toThrow(JSON.stringify(bad));
    }
    expect(() => generateTls({ serverNames: ['docker'], validDays: 0 })).toThrow(/validDays/);
    expect(() => generateTls({ serverNames: ['DinD-1.example.com', '10.0.0.1', '2001:db8::ffff:1.2.3.4'] })).not.toThrow();
  });

  it('encodes IPv6 addresses, including embedded IPv4, as 16 octets', () => {
    const x = new X509Certificate(generateTls({ serverNames: ['2001:db8::ffff:1.2.3.4', 'fe80::'] }).serverCert);
    expect(x.checkIP('2001:db8::ffff:102:304')).toBeDefined();
    expect(x.checkIP('fe80::')).toBeDefined();
    expect(x.checkIP('fe80::1')).toBeUndefined();
  });
});

describe('mutual TLS handshake', () => {
  const files = generateTls({ serverNames: ['127.0.0.1', 'docker'] });
  const foreign = generateTls({ serverNames: ['127.0.0.1'] });

  async function withServer<T>(fn: (port: number, clientErrors: Error[]) => Promise<T>): Promise<T> {
    const clientErrors: Error[] = [];
    const server = tls.createServer(
      { key: files.serverKey, cert: files.serverCert, ca: files.caCert, requestCert: true, rejectUnauthorized: true },
      (sock) => sock.pipe(sock), // echo
    );
    server.on('tlsClientError', (e) => clientErrors.push(e));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      return await fn((server.address() as AddressInfo).port, clientErrors);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  // Resolves with what the server echoed back, rejects on any TLS/socket error.
  const roundTrip = (port: number, opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ...opts }, () => sock.write('ping'));
      sock.setEncoding('utf8');
      sock.once('data', (d: string) => { resolve(d); sock.end(); });
      sock.once('error', reject);
      sock.once('close', () => reject(new Error('closed without data')));
    });

  it('round-trips data with a client certificate', async () => {
    await withServer(async (port) => {
      expect(await roundTrip(port, { ca: files.caCert, cert: files.clientCert, key: files.clientKey })).toBe('ping');
    });
  });

  it('rejects a client without a certificate', async () => {
    await withServer(async (port, clientErrors) => {
      await expect(roundTrip(port, { ca: files.caCert })).rejects.toThrow();
      expect(clientErrors.length).toBe(1);
    });
  });

  it('rejects a client certificate from another CA', async () => {
    await withServer(async (port) => {
      await expect(roundTrip(port, { ca: files.caCert, cert: foreign.clientCert, key: foreign.clientKey })).rejects.toThrow();
    });
  });

  it('client rejects the server under a foreign CA or a name not in the SAN', async () => {
    await withServer(async (port) => {
      const mine = { cert: files.clientCert, key: files.clientKey };
      await expect(roundTrip(port, { ...mine, ca: foreign.caCert })).rejects.toThrow(/self.signed|unable to (get|verify)/i);
      await expect(roundTrip(port, { ...mine, ca: files.caCert, servername: 'other.example' })).rejects.toThrow(/altnames|Hostname/i);
      expect(await roundTrip(port, { ...mine, ca: files.caCert, servername: 'docker' })).toBe('ping');
    });
  });
});

describe('writeTls', () => {
  const files = generateTls({ serverNames: ['127.0.0.1'] });
  const mode = (p: string) => statSync(p).mode & 0o777;

  for (const umask of [0o000, 0o277]) {
    it(`sets modes explicitly under umask ${umask.toString(8).padStart(3, '0')} and overwrites`, async () => {
      const dir = join(tmp, `certs-${umask}`);
      // Pre-existing, too-open layout with stale content.
      mkdirSync(join(dir, 'client'), { recursive: true, mode: 0o777 });
      chmodSync(dir, 0o777);
      writeFileSync(join(dir, 'client', 'key.pem'), 'stale', { mode: 0o666 });
      const old = process.umask(umask);
      let paths;
      try {
        paths = await writeTls(dir, files);
      } finally {
        process.umask(old);
      }
      expect(paths).toEqual({ clientDir: join(dir, 'client'), serverDir: join(dir, 'server') });
      for (const d of [dir, paths.clientDir, paths.serverDir]) expect(mode(d)).toBe(0o700);
      const expected: Record<string, [string, number]> = {
        'client/ca.pem': [files.caCert, 0o644],
        'client/cert.pem': [files.clientCert, 0o644],
        'client/key.pem': [files.clientKey, 0o600],
        'server/ca.pem': [files.caCert, 0o644],
        'server/server-cert.pem': [files.serverCert, 0o644],
        'server/server-key.pem': [files.serverKey, 0o600],
      };
      for (const [rel, [content, m]] of Object.entries(expected)) {
        expect(readFileSync(join(dir, rel), 'utf8')).toBe(content);
        expect(mode(join(dir, rel)), rel).toBe(m);
      }
    });
  }

  it('returns absolute paths for a relative dir', async () => {
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      const p = await writeTls('relative-certs', files);
      expect(p.clientDir).toBe(join(tmp, 'relative-certs', 'client'));
      expect(p.serverDir).toBe(join(tmp, 'relative-certs', 'server'));
    } finally {
      process.chdir(cwd);
    }
  });
});
