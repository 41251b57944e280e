// Per-job TLS material for a dockerd TCP endpoint: one throw-away CA, a server
// certificate and a client certificate, all ECDSA P-256 / SHA-256.
//
// docker:dind shells out to openssl and spends seconds on 4096-bit RSA keys;
// P-256 keys take microseconds. node:crypto can make keys and signatures but
// not X.509 certificates, so the certificate is assembled here with a minimal
// DER encoder. The CA private key never leaves this function: once the job's
// two leaf certificates exist, nobody can mint another one.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export interface TlsFiles { caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } // PEM strings

export interface TlsOptions {
  serverNames: string[]; // IPv4/IPv6 -> iPAddress SAN, anything else must be a DNS name -> dNSName SAN
  validDays?: number; // default 7: a CI job is short
  now?: Date; // injectable for tests
  commonName?: string; // CA subject CN, default 'setup-dind CA'
}

export interface TlsPaths { clientDir: string; serverDir: string } // absolute

// ---------------------------------------------------------------------------
// DER (X.690) helpers: just the types an X.509 v3 certificate needs.

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const n = body.length;
  // Short form below 128, otherwise 0x80|count followed by big-endian length bytes.
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), b);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner); // [n] EXPLICIT (constructed)
const implicit = (n: number, b: Buffer) => tlv(0x80 | n, b); // [n] IMPLICIT primitive
const TRUE = Buffer.from([0x01, 0x01, 0xff]); // DER requires 0xff for TRUE

// INTEGER from unsigned big-endian bytes: minimal length, 0x00 prefix if the high bit is set.
const uint = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};

const oid = (dotted: string): Buffer => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const arc of rest) {
    const base128 = [arc & 0x7f]; // base-128, high bit marks "more bytes follow"
    for (let v = arc >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
};

// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always UTC with seconds, 'Z'.
const time = (d: Date): Buffer => {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
};

// ---------------------------------------------------------------------------
// X.509 pieces.

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2')); // parameters MUST be absent (RFC 5758)
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8'))))); // CN as UTF8String

const ext = (id: string, critical: boolean, value: Buffer) =>
  critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value)); // DEFAULT FALSE is omitted in DER

// keyUsage BIT STRING: bit 0 is the MSB; DER drops trailing zero bits and counts them as unused.
const KU = { digitalSignature: 0, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 } as const;
const keyUsage = (...bits: number[]) => {
  const byte = bits.reduce((acc, b) => acc | (0x80 >> b), 0);
  return ext('2.5.29.15', true, bitString(Buffer.from([byte]), 7 - Math.max(...bits)));
};
const extKeyUsage = (purpose: 'serverAuth' | 'clientAuth') =>
  ext('2.5.29.37', false, seq(oid(purpose === 'serverAuth' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2')));
// Key identifier = SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). For an
// uncompressed P-256 point these are the last 65 bytes of the SPKI.
const keyId = (spki: Buffer) => createHash('sha1').update(spki.subarray(-65)).digest();

const ipBytes = (ip: string): Buffer => {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s); // ::ffff:1.2.3.4 -> two hex groups
  if (v4) {
    const b = ipBytes(v4[1]!);
    s = s.slice(0, v4.index) + b.readUInt16BE(0).toString(16) + ':' + b.readUInt16BE(2).toString(16);
  }
  const [head, tail] = s.split('::');
  const groups = (x?: string) => (x ? x.split(':') : []);
  const h = groups(head), t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
};

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const isDnsName = (n: string) => {
  const labels = n.split('.');
  return n.length <= 253 && labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!); // no all-numeric TLD: catches '256.1.1.1'
};

const san = (names: string[]) =>
  ext('2.5.29.17', false, seq(...names.map((n) => (isIP(n) ? implicit(7, ipBytes(n)) : implicit(2, Buffer.from(n, 'ascii'))))));

// Positive 16-byte serial: high bit cleared so no 0x00 pad is needed, first byte non-zero so it stays minimal.
const serial = () => {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 1;
  return uint(b);
};

interface CertSpec { subject: Buffer; issuer: Buffer; spki: Buffer; signer: KeyObject; notBefore: Date; notAfter: Date; extensions: Buffer[] }

const certificate = (c: CertSpec): string => {
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))), // version v3
    serial(),
    ECDSA_SHA256,
    c.issuer,
    seq(time(c.notBefore), time(c.notAfter)),
    c.subject,
    c.spki, // SubjectPublicKeyInfo exactly as node exports it
    explicit(3, seq(...c.extensions)),
  );
  const sig = sign('sha256', tbs, { key: c.signer, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_SHA256, bitString(sig));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
};

// ---------------------------------------------------------------------------

export function generateTls(opts: TlsOptions): TlsFiles {
  const { serverNames, validDays = 7, now = new Date(), commonName = 'setup-dind CA' } = opts;
  if (!Array.isArray(serverNames) || serverNames.length === 0) throw new Error('TLS serverNames must list at least one IP address or DNS name, got []');
  for (const n of serverNames) {
    if (typeof n !== 'string' || n.includes('%') || !(isIP(n) || isDnsName(n)))
      throw new Error(`TLS server name ${JSON.stringify(n)} is neither an IP address nor a valid DNS name`);
  }
  if (!(validDays > 0 && Number.isFinite(validDays))) throw new Error(`TLS validDays must be a positive number, got ${validDays}`);
  if (Number.isNaN(now.getTime())) throw new Error('TLS now is an invalid Date');

  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clock skew between runner and daemon
  const notAfter = new Date(now.getTime() + validDays * 86_400_000);
  const newKey = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
  };
  const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

  const ca = newKey();
  const caName = name(commonName);
  const caKeyId = keyId(ca.spki);
  const caCert = certificate({
    subject: caName, issuer: caName, spki: ca.spki, signer: ca.privateKey, notBefore, notAfter,
    extensions: [
      ext('2.5.29.19', true, seq(TRUE, uint(Buffer.from([0])))), // CA:TRUE, pathlen:0
      keyUsage(KU.keyCertSign, KU.cRLSign),
      ext('2.5.29.14', false, octets(caKeyId)),
    ],
  });

  const leaf = (cn: string, purpose: 'serverAuth' | 'clientAuth', extra: Buffer[]) => {
    const k = newKey();
    const cert = certificate({
      subject: name(cn), issuer: caName, spki: k.spki, signer: ca.privateKey, notBefore, notAfter,
      extensions: [
        ext('2.5.29.19', true, seq()), // CA:FALSE (cA DEFAULT FALSE, so the SEQUENCE is empty)
        keyUsage(KU.digitalSignature, KU.keyAgreement),
        extKeyUsage(purpose),
        ext('2.5.29.14', false, octets(keyId(k.spki))),
        ext('2.5.29.35', false, seq(implicit(0, caKeyId))), // authorityKeyIdentifier.keyIdentifier
        ...extra,
      ],
    });
    return { cert, key: pkcs8(k.privateKey) };
  };

  const server = leaf('setup-dind server', 'serverAuth', [san(serverNames)]);
  const client = leaf('setup-dind client', 'clientAuth', []);
  return { caCert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}

// Layout: <dir>/client = DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem); <dir>/server = dockerd --tls* files.
export async function writeTls(dir: string, files: TlsFiles): Promise<TlsPaths> {
  const root = resolve(dir);
  const clientDir = join(root, 'client');
  const serverDir = join(root, 'server');
  for (const d of [root, clientDir, serverDir]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700); // mkdir's mode is filtered by umask and ignored for existing dirs
  }
  const put = async (path: string, data: string, mode: number) => {
    await rm(path, { force: true }); // fresh inode: never write a key into an old, wider-mode file or through a symlink
    await writeFile(path, data, { mode, flag: 'wx' });
    await chmod(path, mode); // umask must not matter
  };
  await put(join(clientDir, 'ca.pem'), files.caCert, 0o644);
  await put(join(clientDir, 'cert.pem'), files.clientCert, 0o644);
  await put(join(clientDir, 'key.pem'), files.clientKey, 0o600);
  await put(join(serverDir, 'ca.pem'), files.caCert, 0o644);
  await put(join(serverDir, 'server-cert.pem'), files.serverCert, 0o644);
  await put(join(serverDir, 'server-key.pem'), files.serverKey, 0o600);
  return { clientDir, serverDir };
}
