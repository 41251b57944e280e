import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTls } from '../endpoint/tls.js';
import { certsDirFiles, loadRegistryTrust, type RegistryTrust } from './certs.js';
import type { CertRequest } from './settings.js';

const OPENSSL = '/usr/bin/openssl';
const NOW = new Date('2030-06-15T12:00:00Z');
const tls = generateTls({ serverNames: ['registry.test'], now: NOW });
const other = generateTls({ serverNames: ['other.test'], now: NOW });

let ws: string; // the workspace
beforeAll(() => { ws = mkdtempSync(join(tmpdir(), 'setup-dind-certs-')); });
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const put = (rel: string, content: string | Buffer) => {
  const path = join(ws, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
};
const file = (host: string, path: string): CertRequest => ({ host, source: { kind: 'file', path: join(ws, path) } });
const dir = (host: string, path: string): CertRequest => ({ host, source: { kind: 'dir', path: join(ws, path) } });
const inline = (host: string, pem: string): CertRequest => ({ host, source: { kind: 'inline', pem } });
const load = (requests: CertRequest[], now = NOW) => loadRegistryTrust(requests, { baseDir: ws, now });
const body = (pem: string) => pem.split('\n').slice(1, -2).join('\n'); // the base64 of a one-block PEM
const subject = (pem: string) => new X509Certificate(pem).subject;

/** One problem naming the input, what is wrong and a remedy. */
async function oneProblem(requests: CertRequest[], what: RegExp) {
  const out = await load(requests);
  expect(out.problems).toHaveLength(1);
  expect(out.problems[0]).toMatch(/^input "registry-certs": /);
  expect(out.problems[0]).toMatch(what);
  expect(out.problems[0]).toMatch(/; \S/);
  expect(out.trust).toEqual([]);
  return out;
}

// openssl makes what generateTls does not: a self-signed leaf and a root -> intermediate chain.
const openssl = (args: string[], cwd: string) => execFileSync(OPENSSL, args, { cwd, stdio: 'pipe' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const hasOpenssl = existsSync(OPENSSL);

describe('loadRegistryTrust: files', () => {
  it('loads a CA file and describes it relative to the workspace', async () => {
    put('certs/ca.pem', tls.caCert);
    const out = await load([file('registry.test:5000', 'certs/ca.pem')]);
    expect(out).toEqual({
      trust: [{ host: 'registry.test:5000', caPems: [tls.caCert], client: undefined, describe: 'file certs/ca.pem (1 certificate)' }],
      problems: [], secrets: [], missing: [],
    });
  });

  it('loads a bundle with several certificates, ignoring text between blocks and CRLF line ends', async () => {
    const bundle = `subject=CN = setup-dind CA\n${tls.caCert}\n# second CA\n${other.caCert}`.replace(/\n/g, '\r\n');
    put('bundle.pem', bundle);
    const out = await load([file('r.test', 'bundle.pem')]);
    expect(out.problems).toEqual([]);
    expect(out.trust[0]!.caPems).toEqual([tls.caCert, other.caCert]);
    expect(out.trust[0]!.describe).toBe('file bundle.pem (2 certificates)');
  });

  it.skipIf(!hasOpenssl)('accepts a bundle with an intermediate CA', async () => {
    const d = join(ws, 'chain');
    mkdirSync(d, { recursive: true });
    openssl(['req', '-x509', ...EC, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=Test Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], d);
    openssl(['req', ...EC, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Test Intermediate'], d);
    writeFileSync(join(d, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\n');
    openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '30', '-extfile', 'ext.cnf'], d);
    const intermediate = readFileSync(join(d, 'int.pem'), 'utf8');
    const root = readFileSync(join(d, 'root.pem'), 'utf8');
    put('chain/bundle.pem', intermediate + root);
    const out = await loadRegistryTrust([file('r.test', 'chain/bundle.pem')], { baseDir: ws });
    expect(out.problems).toEqual([]);
    expect(out.trust[0]!.caPems.map(subject)).toEqual(['CN=Test Intermediate', 'CN=Test Root']);
  });

  it.skipIf(!hasOpenssl)('accepts a self-signed leaf used as its own CA', async () => {
    const d = join(ws, 'selfsigned');
    mkdirSync(d, { recursive: true });
    openssl(['req', '-x509', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.pem', '-subj', '/CN=registry.test', '-days', '30',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'subjectAltName=DNS:registry.test'], d);
    const leaf = readFileSync(join(d, 'leaf.pem'), 'utf8');
    expect(new X509Certificate(leaf).ca).toBe(false);
    const out = await loadRegistryTrust([file('registry.test', 'selfsigned/leaf.pem'), inline('inline.test', leaf)], { baseDir: ws });
    expect(out.problems).toEqual([]);
    expect(out.trust.map((t) => t.caPems)).toEqual([[leaf], [leaf]]);
  });

  it('reports an expired certificate with its date and a remedy', async () => {
    const old = generateTls({ serverNames: ['r.test'], now: new Date('2025-12-01T00:00:00Z'), validDays: 31 });
    put('old.pem', old.caCert);
    const out = await oneProblem([file('registry.test:5000', 'old.pem')],
      /^input "registry-certs": the certificate for registry\.test:5000 \(CN=setup-dind CA, in "old\.pem"\) expired on 2026-01-01T00:00:00\.000Z; renew it$/);
    expect(out.missing).toEqual([]);
  });

  it('reports a certificate that is not valid yet with its date', async () => {
    const future = generateTls({ serverNames: ['r.test'], now: new Date('2031-01-01T00:05:00Z') });
    await oneProblem([inline('r.test', future.caCert)],
      /the certificate for r\.test \(CN=setup-dind CA, in the inline PEM\) is not valid before 2031-01-01T00:00:00\.000Z; check the runner's clock/);
  });

  it('reports each bad certificate of a bundle', async () => {
    const old = generateTls({ serverNames: ['r.test'], now: new Date('2020-01-01T00:00:00Z'), commonName: 'Old CA' });
    put('mixed.pem', tls.caCert + old.caCert);
    const out = await load([file('r.test', 'mixed.pem')]);
    expect(out.problems).toHaveLength(1);
    expect(out.problems[0]).toContain('(CN=Old CA, in "mixed.pem") expired on 2020-01-08T00:00:00.000Z');
    expect(out.trust).toEqual([]);
  });

  it.each([
    ['not PEM at all', 'hello world\n', /"bad\.pem" for r\.test is not PEM \(no -----BEGIN CERTIFICATE----- block\); give the registry's CA certificate in PEM form/],
    ['empty', '', /"bad\.pem" for r\.test is empty; give/],
    ['whitespace', ' \n\t\n', /is empty/],
    ['binary garbage', Buffer.from([0, 1, 2, 255, 254, 0x30, 0x82]), /is not PEM/],
    ['a public key', createPublicKey(tls.serverKey).export({ type: 'spki', format: 'pem' }) as string, /has a PUBLIC KEY block, which is not a certificate; give CERTIFICATE blocks/],
    ['a certificate request', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', /has a CERTIFICATE REQUEST block, which is not a certificate/],
    ['a broken certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /has a CERTIFICATE block that is not a valid X\.509 certificate/],
    ['bad base64', '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n', /CERTIFICATE block that is not valid base64/],
    ['a BEGIN without END', `${tls.caCert}-----BEGIN CERTIFICATE-----\nMIIB\n`, /has a -----BEGIN line without its -----END line; give the complete PEM/],
    ['mismatched markers', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n', /whose -----BEGIN CERTIFICATE----- ends with -----END PRIVATE KEY-----; fix the block/],
  ])('rejects a file that is %s', async (_, content, what) => {
    put('bad.pem', content);
    await oneProblem([file('r.test', 'bad.pem')], what);
  });

  it('recognizes a DER certificate and says how to convert it', async () => {
    put('ca.der', new X509Certificate(tls.caCert).raw);
    await oneProblem([file('r.test', 'ca.der')], /"ca\.der" for r\.test is a DER certificate, not PEM; convert it: openssl x509 -inform der -in ca\.der -out ca\.pem/);
  });

  it('rejects a private key in a CA file and still reports it as a secret', async () => {
    put('withkey.pem', tls.serverCert + tls.serverKey);
    const out = await oneProblem([file('r.test', 'withkey.pem')], /"withkey\.pem" for r\.test contains a private key, but a CA file holds only certificates; remove the key/);
    expect(out.secrets).toEqual([tls.serverKey.trim()]);
    expect(out.problems[0]).not.toContain(body(tls.serverKey).split('\n')[0]);
  });

  it('rejects a file that is too big without reading it', async () => {
    put('huge.pem', Buffer.alloc(1024 * 1024 + 1, 0x41));
    await oneProblem([file('r.test', 'huge.pem')], /is 1048577 bytes, more than 1048576, which is too big for a certificate file/);
  });

  it('reports paths that do not exist separately, as missing', async () => {
    const out = await load([file('r.test', 'nope/ca.pem'), dir('d.test', 'nope-dir'), { host: 'abs.test', source: { kind: 'file', path: '/nonexistent/setup-dind/ca.pem' } }]);
    expect(out).toEqual({ trust: [], problems: [], secrets: [], missing: [join(ws, 'nope/ca.pem'), join(ws, 'nope-dir'), '/nonexistent/setup-dind/ca.pem'] });
  });

  it('rejects a relative path that leaves the workspace', async () => {
    await oneProblem([{ host: 'r.test', source: { kind: 'file', path: '../../etc/ssl/ca.pem' } }],
      /"\.\.\/\.\.\/etc\/ssl\/ca\.pem" for r\.test is a relative path that leaves the workspace \(.+\); keep certificates inside the workspace or give an absolute path/);
  });

  it('rejects a file given with a trailing slash', async () => {
    put('plain.pem', tls.caCert);
    await oneProblem([{ host: 'r.test', source: { kind: 'dir', path: join(ws, 'plain.pem') } }], /"plain\.pem" for r\.test is a file, but the path ends with \/, which means a directory; remove the trailing \//);
  });

  it('rejects a path that is not a regular file', async () => {
    await oneProblem([{ host: 'r.test', source: { kind: 'file', path: '/dev/null' } }], /"\/dev\/null" for r\.test is not a regular file; give a PEM file or a directory/);
  });

  it.skipIf(process.getuid?.() === 0)('reports a file it may not read', async () => {
    const p = put('secret.pem', tls.caCert);
    chmodSync(p, 0);
    await oneProblem([file('r.test', 'secret.pem')], /cannot be read \(EACCES\); make it readable by the job's user/);
  });
});

describe('loadRegistryTrust: certs.d directories', () => {
  it('loads ca.crt and every other *.crt, ignoring other files', async () => {
    put('d1/ca.crt', tls.caCert);
    put('d1/extra.crt', other.caCert);
    put('d1/README.md', 'not a cert');
    const out = await load([dir('r.test', 'd1')]);
    expect(out.problems).toEqual([]);
    expect(out.trust).toEqual([{ host: 'r.test', caPems: [tls.caCert, other.caCert], client: undefined, describe: 'directory d1 (2 certificates)' }]);
  });

  it('loads a client.cert/client.key pair for mutual TLS, and returns the key as a secret', async () => {
    put('mtls/ca.crt', tls.caCert);
    put('mtls/client.cert', tls.clientCert);
    put('mtls/client.key', tls.clientKey);
    // given as kind 'file' (no trailing slash): a directory is still read as one
    const out = await load([file('r.test:5000', 'mtls')]);
    expect(out.problems).toEqual([]);
    expect(out.trust).toEqual([{
      host: 'r.test:5000', caPems: [tls.caCert], client: { certPem: tls.clientCert, keyPem: tls.clientKey },
      describe: 'directory mtls (1 certificate; client certificate client.cert)',
    }]);
    expect(out.secrets).toEqual([tls.clientKey.trim()]);
    expect(out.trust[0]!.describe).not.toContain(body(tls.clientKey).split('\n')[0]);
  });

  it('pairs any X.cert with X.key, and accepts a pair without a CA', async () => {
    put('pair-only/me.cert', tls.clientCert + tls.caCert); // with its chain
    put('pair-only/me.key', tls.clientKey);
    const out = await load([dir('r.test', 'pair-only')]);
    expect(out.problems).toEqual([]);
    expect(out.trust[0]!.caPems).toEqual([]);
    expect(out.trust[0]!.client).toEqual({ certPem: tls.clientCert + tls.caCert, keyPem: tls.clientKey });
  });

  it('accepts PKCS#1 RSA and SEC1 EC keys', async () => {
    const sec1 = createPrivateKey(tls.clientKey).export({ type: 'sec1', format: 'pem' }) as string;
    put('sec1/client.cert', tls.clientCert);
    put('sec1/client.key', sec1);
    const out = await load([dir('r.test', 'sec1')]);
    expect(out.problems).toEqual([]);
    expect(out.trust[0]!.client!.keyPem).toBe(sec1);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    put('rsa/client.cert', tls.clientCert);
    put('rsa/client.key', rsa);
    // an RSA key does not belong to the EC certificate
    await oneProblem([dir('r.test', 'rsa')], /"rsa\/client\.key" for r\.test does not match the certificate in "rsa\/client\.cert" \(CN=setup-dind client\); give the key that belongs to that certificate/);
  });

  it('rejects a key that does not match its certificate', async () => {
    put('mismatch/client.cert', tls.clientCert);
    put('mismatch/client.key', other.clientKey);
    const out = await oneProblem([dir('r.test', 'mismatch')], /"mismatch\/client\.key" for r\.test does not match the certificate in "mismatch\/client\.cert" \(CN=setup-dind client\)/);
    expect(out.secrets).toEqual([other.clientKey.trim()]);
  });

  it('rejects a client certificate without its key, and a key without its certificate', async () => {
    put('halves/ca.crt', tls.caCert);
    put('halves/client.cert', tls.clientCert);
    put('halves/other.key', tls.clientKey);
    const out = await load([dir('r.test', 'halves')]);
    expect(out.problems).toEqual([
      'input "registry-certs": "halves/client.cert" for r.test has no client.key next to it; docker pairs X.cert with X.key, so add the key or remove the certificate',
      'input "registry-certs": "halves/other.key" for r.test has no other.cert next to it; docker pairs X.cert with X.key, so add the certificate or remove the key',
    ]);
    expect(out.trust).toEqual([]);
  });

  it('rejects two client pairs', async () => {
    for (const n of ['a', 'b']) {
      put(`two/${n}.cert`, tls.clientCert);
      put(`two/${n}.key`, tls.clientKey);
    }
    await oneProblem([dir('r.test', 'two')], /"two" for r\.test has 2 client certificates \(a\.cert, b\.cert\); keep one pair/);
  });

  it('rejects an empty directory, and one without certificates', async () => {
    mkdirSync(join(ws, 'empty'), { recursive: true });
    await oneProblem([dir('r.test', 'empty')], /"empty" for r\.test has no \*\.crt file and no client\.cert\/client\.key pair; put the registry's CA certificate in ca\.crt/);
    put('nocerts/ca.pem', tls.caCert); // docker reads *.crt only
    await oneProblem([dir('r.test', 'nocerts')], /"nocerts" for r\.test has no \*\.crt file/);
  });

  it('rejects a bad ca.crt and a key file with extra blocks', async () => {
    put('badca/ca.crt', 'nope');
    await oneProblem([dir('r.test', 'badca')], /"badca\/ca\.crt" for r\.test is not PEM/);
    put('fatkey/client.cert', tls.clientCert);
    put('fatkey/client.key', tls.clientKey + tls.clientCert);
    await oneProblem([dir('r.test', 'fatkey')], /"fatkey\/client\.key" for r\.test should hold exactly one private key and nothing else/);
  });

  it('rejects an encrypted client key', async () => {
    const encrypted = createPrivateKey(tls.clientKey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    put('enc/client.cert', tls.clientCert);
    put('enc/client.key', encrypted);
    const out = await oneProblem([dir('r.test', 'enc')], /"enc\/client\.key" for r\.test has an encrypted private key, which docker cannot use; decrypt it/);
    expect(out.secrets).toEqual([encrypted.trim()]);
  });
});

describe('loadRegistryTrust: inline PEM', () => {
  it('loads CA certificates', async () => {
    const out = await load([inline('r.test', tls.caCert + other.caCert)]);
    expect(out.problems).toEqual([]);
    expect(out.trust).toEqual([{ host: 'r.test', caPems: [tls.caCert, other.caCert], client: undefined, describe: 'inline PEM (2 certificates)' }]);
    expect(out.secrets).toEqual([]);
  });

  it('takes a certificate with its key as the client pair, whatever the order, and returns the key as a secret', async () => {
    const out = await load([inline('r.test', tls.clientKey + tls.caCert + tls.clientCert)]);
    expect(out.problems).toEqual([]);
    expect(out.trust).toEqual([{
      host: 'r.test', caPems: [tls.caCert], client: { certPem: tls.clientCert, keyPem: tls.clientKey },
      describe: 'inline PEM (1 certificate; client certificate CN=setup-dind client)',
    }]);
    expect(out.secrets).toEqual([tls.clientKey.trim()]);
  });

  it('re-wraps PEM squashed onto one line, and reports both forms of the key as secrets', async () => {
    const squash = (pem: string) => pem.trim().replace(/\n/g, ' ');
    const out = await load([inline('r.test', `${squash(tls.clientCert)} ${squash(tls.clientKey)}\n`)]);
    expect(out.problems).toEqual([]);
    expect(out.trust[0]!.client).toEqual({ certPem: tls.clientCert, keyPem: tls.clientKey });
    expect(out.secrets).toEqual([squash(tls.clientKey), tls.clientKey.trim()]);
  });

  it('rejects a key without its certificate', async () => {
    const out = await oneProblem([inline('r.test', tls.caCert + other.clientKey)],
      /the inline PEM for r\.test has a private key but no certificate that matches it; add the client certificate that belongs to the key/);
    expect(out.secrets).toEqual([other.clientKey.trim()]);
    expect(out.problems.join('\n')).not.toContain(body(other.clientKey).split('\n')[0]);
  });

  it('rejects a key alone, two keys, and an encrypted key', async () => {
    await oneProblem([inline('r.test', tls.clientKey)], /the inline PEM for r\.test has no certificate; give the registry's CA certificate and the certificate of the private key/);
    await oneProblem([inline('r.test', tls.clientCert + tls.clientKey + tls.serverKey)], /has 2 private keys; give one client certificate with its one key/);
    const encrypted = createPrivateKey(tls.clientKey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    await oneProblem([inline('r.test', tls.clientCert + encrypted)], /has an encrypted private key/);
  });

  it('rejects inline text that is not PEM or not a certificate', async () => {
    await oneProblem([inline('r.test', 'just text')], /the inline PEM for r\.test is not PEM/);
    await oneProblem([inline('r.test', '-----BEGIN PGP PUBLIC KEY BLOCK-----\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n')], /has a PGP PUBLIC KEY BLOCK block, which is not a certificate/);
  });
});

describe('loadRegistryTrust: together', () => {
  it('reports every problem of every registry, and loads the good ones', async () => {
    put('all/good.pem', tls.caCert);
    put('all/bad.pem', 'nope');
    mkdirSync(join(ws, 'all/emptydir'), { recursive: true });
    const out = await load([
      file('good.test', 'all/good.pem'),
      file('bad.test', 'all/bad.pem'),
      dir('empty.test', 'all/emptydir'),
      inline('inline.test', tls.caCert + other.clientKey),
      file('missing.test', 'all/missing.pem'),
      inline('ok.test', tls.clientCert + tls.clientKey),
    ]);
    expect(out.problems).toHaveLength(3);
    expect(out.problems.map((p) => /for (\S+)/.exec(p)![1])).toEqual(['bad.test', 'empty.test', 'inline.test']);
    expect(out.trust.map((t) => t.host)).toEqual(['good.test', 'ok.test']);
    expect(out.missing).toEqual([join(ws, 'all/missing.pem')]);
    expect(out.secrets).toEqual([other.clientKey.trim(), tls.clientKey.trim()]);
  });

  it('uses the current time by default', async () => {
    const fresh = generateTls({ serverNames: ['r.test'] });
    expect((await loadRegistryTrust([inline('r.test', fresh.caCert)], { baseDir: ws })).problems).toEqual([]);
    expect((await loadRegistryTrust([inline('r.test', tls.caCert)], { baseDir: ws })).problems[0]).toMatch(/is not valid before 2030-06-15T11:55:00\.000Z/);
  });
});

describe('certsDirFiles', () => {
  it('lays out ca.crt, client.cert and client.key per host with the right modes', () => {
    const trust: RegistryTrust[] = [
      { host: 'r.test:5000', caPems: [tls.caCert, other.caCert.trim()], client: { certPem: tls.clientCert, keyPem: tls.clientKey.trim() }, describe: 'x' },
      { host: '[fd00::1]:443', caPems: [tls.caCert], describe: 'y' },
      { host: 'client-only.test', caPems: [], client: { certPem: tls.clientCert, keyPem: tls.clientKey }, describe: 'z' },
    ];
    expect(certsDirFiles(trust)).toEqual([
      { path: 'r.test:5000/ca.crt', content: tls.caCert + other.caCert, mode: 0o644 },
      { path: 'r.test:5000/client.cert', content: tls.clientCert, mode: 0o644 },
      { path: 'r.test:5000/client.key', content: tls.clientKey, mode: 0o600 },
      { path: '[fd00::1]:443/ca.crt', content: tls.caCert, mode: 0o644 },
      { path: 'client-only.test/client.cert', content: tls.clientCert, mode: 0o644 },
      { path: 'client-only.test/client.key', content: tls.clientKey, mode: 0o600 },
    ]);
    expect(certsDirFiles([])).toEqual([]);
  });

  it('refuses a host that would leave certs.d', () => {
    for (const host of ['..', '.', '', 'a/../../etc', 'a\\b']) {
      expect(() => certsDirFiles([{ host, caPems: [tls.caCert], describe: '' }])).toThrow(/cannot name a certs\.d directory/);
    }
  });
});
