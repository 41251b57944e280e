// Loads and checks the certificates of registry-certs: CA files and bundles, certs.d-style directories and
// inline PEM. Everything is checked before anything is written, and every problem is reported together.
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { showValue } from '../show.js';
import type { CertRequest, CertSource } from './settings.js';

export interface RegistryTrust {
  host: string;
  caPems: string[]; // one PEM certificate each
  client?: { certPem: string; keyPem: string };
  describe: string; // where it came from, for logs and the summary; never the key
}

export interface LoadedTrust {
  trust: RegistryTrust[];
  problems: string[];
  secrets: string[]; // private key PEMs to mask in logs
  missing: string[]; // absolute paths that do not exist (yet): in the pre phase the workspace is not checked out
}

/** Certificate files are small; anything bigger is not what the user meant. */
export const MAX_CERT_FILE_BYTES = 1024 * 1024;
/** At most this many *.crt / *.cert / *.key files are read from one directory. */
export const MAX_DIR_FILES = 100;

const INPUT = 'input "registry-certs"';
const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

interface PemBlock { label: string; pem: string; raw: string; headers: boolean; base64ok: boolean }

// Blocks re-wrapped at 64 columns, so that PEM pasted on one line or with odd spacing still loads.
function parsePem(text: string): { blocks: PemBlock[]; unmatched: number; mismatched: string[] } {
  const blocks: PemBlock[] = [];
  const mismatched: string[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [raw, label, inner, endLabel] = m as unknown as [string, string, string, string];
    if (label !== endLabel) {
      mismatched.push(`-----BEGIN ${label}----- ends with -----END ${endLabel}-----`);
      continue;
    }
    const headers = /^[\w-]+:/m.test(inner.trim()); // RFC 1421 headers: an old-style encrypted key
    const body = headers ? inner.trim().split(/\r?\n\s*\r?\n/).slice(1).join('') : inner;
    const b64 = body.replace(/\s+/g, '');
    const base64ok = /^[A-Za-z0-9+/]+={0,2}$/.test(b64);
    const wrapped = b64.match(/.{1,64}/g)?.join('\n') ?? '';
    blocks.push({ label, raw, headers, base64ok, pem: `-----BEGIN ${label}-----\n${wrapped}\n-----END ${label}-----\n` });
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  return { blocks, unmatched: begins - blocks.length - mismatched.length, mismatched };
}

const iso = (d: Date) => (Number.isNaN(d.getTime()) ? 'an unreadable date' : d.toISOString());

/** The subject's CN, or the whole subject on one line, for messages. */
export function subjectOf(cert: X509Certificate): string {
  const lines = cert.subject.split('\n').filter(Boolean);
  const cn = lines.filter((l) => l.startsWith('CN='));
  const shown = (cn.length ? cn : lines).join(', ') || 'no subject';
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
const keyMatches = (key: KeyObject, cert: X509Certificate) => spki(createPublicKey(key)).equals(spki(cert.publicKey));

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

interface Parsed { certs: { pem: string; x509: X509Certificate }[]; keys: { pem: string; raw: string; key: KeyObject }[] }

export async function loadRegistryTrust(requests: CertRequest[], opts: { baseDir: string; now?: Date }): Promise<LoadedTrust> {
  const baseDir = resolve(opts.baseDir);
  const now = opts.now ?? new Date();
  const out: LoadedTrust = { trust: [], problems: [], secrets: [], missing: [] };
  for (const request of requests) {
    const loader = new TrustLoader(request.host, baseDir, now, out);
    await loader.load(request.source);
    out.problems.push(...loader.problems);
    out.secrets.push(...loader.secrets.filter((s) => !out.secrets.includes(s)));
  }
  return out;
}

/**
 * Loads the certificates of one registry: its trust and missing paths go straight to `out`; its problems and the
 * private keys to mask are its own until the registry is done (a registry with any problem adds no trust).
 */
class TrustLoader {
  readonly problems: string[] = [];
  readonly secrets: string[] = [];

  constructor(
    private readonly host: string,
    private readonly baseDir: string,
    private readonly now: Date,
    private readonly out: LoadedTrust,
  ) {}

  private fail(what: string): void {
    this.problems.push(`${INPUT}: ${what}`);
  }

  /** A path in messages as the user wrote it: relative to the workspace when inside it. */
  private display(path: string): string {
    const rel = relative(this.baseDir, path);
    return rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : path;
  }

  private shown(path: string): string {
    return showValue(this.display(path));
  }

  async load(source: CertSource): Promise<void> {
    if (source.kind === 'inline') this.loadInline(source.pem);
    else await this.loadPath(source);
  }

  /** Parses PEM text; `where` names it in messages ('"certs/ca.pem"' or 'the inline PEM'). */
  private parse(text: string, where: string, allowKeys: boolean): Parsed | undefined {
    const { host } = this;
    const before = this.problems.length;
    const { blocks, unmatched, mismatched } = parsePem(text);
    for (const m of mismatched) this.fail(`${where} for ${host} has a PEM block whose ${m}; fix the block`);
    if (unmatched > 0) this.fail(`${where} for ${host} has a -----BEGIN line without its -----END line; give the complete PEM`);
    if (blocks.length === 0 && !mismatched.length && !unmatched) {
      this.fail(`${where} for ${host} is not PEM (no -----BEGIN CERTIFICATE----- block); give the registry's CA certificate in PEM form`);
      return undefined;
    }
    const parsed: Parsed = { certs: [], keys: [] };
    for (const block of blocks) this.takeBlock(block, where, allowKeys, parsed);
    for (const { x509 } of parsed.certs) {
      const from = new Date(x509.validFrom);
      const to = new Date(x509.validTo);
      const which = `the certificate for ${host} (${subjectOf(x509)}, in ${where})`;
      if (!(to.getTime() >= this.now.getTime())) this.fail(`${which} expired on ${iso(to)}; renew it`);
      else if (!(from.getTime() <= this.now.getTime())) this.fail(`${which} is not valid before ${iso(from)}; check the runner's clock or use a certificate that is valid now`);
    }
    return this.problems.length === before ? parsed : undefined;
  }

  /** One PEM block: a certificate or (where allowed) a private key goes into `parsed`; anything else is a problem. */
  private takeBlock(block: PemBlock, where: string, allowKeys: boolean, parsed: Parsed): void {
    const { host } = this;
    const isKey = KEY_LABELS.includes(block.label);
    if (block.label === 'ENCRYPTED PRIVATE KEY' || (isKey && block.headers)) {
      this.secrets.push(block.raw);
      this.fail(`${where} for ${host} has an encrypted private key, which docker cannot use; decrypt it, e.g. openssl pkey -in client.key -out client.key`);
      return;
    }
    if (!block.base64ok) {
      if (isKey) this.secrets.push(block.raw);
      this.fail(`${where} for ${host} has a ${block.label} block that is not valid base64; give the PEM exactly as exported`);
      return;
    }
    if (block.label === 'CERTIFICATE') {
      try {
        parsed.certs.push({ pem: block.pem, x509: new X509Certificate(block.pem) });
      } catch {
        this.fail(`${where} for ${host} has a CERTIFICATE block that is not a valid X.509 certificate; give the certificate exactly as exported`);
      }
    } else if (isKey) {
      this.secrets.push(block.raw);
      if (block.pem.trimEnd() !== block.raw) this.secrets.push(block.pem.trimEnd()); // as written to disk
      if (!allowKeys) {
        this.fail(`${where} for ${host} contains a private key, but a CA file holds only certificates; remove the key (for mutual TLS use a directory with client.cert and client.key)`);
        return;
      }
      try {
        parsed.keys.push({ pem: block.pem, raw: block.raw, key: createPrivateKey(block.pem) });
      } catch {
        this.fail(`${where} for ${host} has a ${block.label} block that is not a valid private key; give the key exactly as exported`);
      }
    } else if (block.label !== 'EC PARAMETERS') {
      this.fail(`${where} for ${host} has a ${block.label} block, which is not a certificate; give CERTIFICATE blocks${allowKeys ? ' (and the client certificate\'s private key)' : ''}`);
    }
  }

  /** Reads a file that should hold PEM; undefined when missing (recorded) or unreadable (reported). */
  private async readPem(path: string, where: string): Promise<string | undefined> {
    const { host } = this;
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        this.fail(`${where} for ${host} is not a regular file; give a PEM file or a directory`);
        return undefined;
      }
      if (info.size > MAX_CERT_FILE_BYTES) {
        this.fail(`${where} for ${host} is ${info.size} bytes, more than ${MAX_CERT_FILE_BYTES}, which is too big for a certificate file; give the CA certificate itself`);
        return undefined;
      }
      const data = await readFile(path);
      if (data.length === 0 || data.toString('utf8').trim() === '') {
        this.fail(`${where} for ${host} is empty; give the registry's CA certificate in PEM form`);
        return undefined;
      }
      const text = data.toString('utf8');
      if (!text.includes('-----BEGIN') && isDer(data)) {
        this.fail(`${where} for ${host} is a DER certificate, not PEM; convert it: openssl x509 -inform der -in ${this.display(path)} -out ca.pem`);
        return undefined;
      }
      return text;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') this.out.missing.push(path);
      else this.fail(`${where} for ${host} cannot be read (${code ?? (e as Error).message}); make it readable by the job's user`);
      return undefined;
    }
  }

  /** Inline PEM: CA certificates, and optionally one private key with the client certificate it belongs to. */
  private loadInline(pem: string): void {
    const { host } = this;
    const where = 'the inline PEM';
    const parsed = this.parse(pem, where, true);
    if (!parsed) return;
    if (parsed.keys.length > 1) {
      this.fail(`${where} for ${host} has ${parsed.keys.length} private keys; give one client certificate with its one key`);
      return;
    }
    if (parsed.certs.length === 0) {
      this.fail(`${where} for ${host} has no certificate; give the registry's CA certificate${parsed.keys.length ? ' and the certificate of the private key' : ''}`);
      return;
    }
    const key = parsed.keys[0];
    let client: RegistryTrust['client'];
    let cas = parsed.certs;
    if (key) {
      const own = parsed.certs.find((c) => keyMatches(key.key, c.x509));
      if (!own) this.fail(`${where} for ${host} has a private key but no certificate that matches it; add the client certificate that belongs to the key`);
      else {
        client = { certPem: own.pem, keyPem: key.pem };
        cas = parsed.certs.filter((c) => c !== own);
      }
    }
    if (!this.problems.length) {
      const parts = [cas.length ? plural(cas.length, 'certificate') : '', client ? `client certificate ${subjectOf(new X509Certificate(client.certPem))}` : ''];
      this.out.trust.push({ host, caPems: cas.map((c) => c.pem), client, describe: `inline PEM (${parts.filter(Boolean).join('; ')})` });
    }
  }

  /** A file of CA certificates, or a certs.d-style directory. */
  private async loadPath(source: { kind: 'file' | 'dir'; path: string }): Promise<void> {
    const { host, baseDir } = this;
    const path = resolve(baseDir, source.path);
    const rel = relative(baseDir, path);
    if (!isAbsolute(source.path) && (rel === '..' || rel.startsWith(`..${sep}`))) {
      this.fail(`${showValue(source.path)} for ${host} is a relative path that leaves the workspace (${baseDir}); keep certificates inside the workspace or give an absolute path`);
      return;
    }
    let kind: 'file' | 'dir';
    try {
      kind = (await stat(path)).isDirectory() ? 'dir' : 'file';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') this.out.missing.push(path);
      else this.fail(`${this.shown(path)} for ${host} cannot be read (${code ?? (e as Error).message}); make it readable by the job's user`);
      return;
    }
    if (kind === 'dir') {
      await this.loadDir(path);
    } else if (source.kind === 'dir') {
      this.fail(`${this.shown(path)} for ${host} is a file, but the path ends with /, which means a directory; remove the trailing /`);
    } else {
      const where = this.shown(path);
      const text = await this.readPem(path, where);
      const parsed = text === undefined ? undefined : this.parse(text, where, false);
      if (parsed && !this.problems.length) {
        this.out.trust.push({ host, caPems: parsed.certs.map((c) => c.pem), describe: `file ${this.display(path)} (${plural(parsed.certs.length, 'certificate')})` });
      }
    }
  }

  /** docker's certs.d rules: *.crt are CA certificates; X.cert is a client certificate whose key is X.key. */
  private async loadDir(dir: string): Promise<void> {
    const { host } = this;
    const where = this.shown(dir);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      this.fail(`${where} for ${host} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make it readable by the job's user`);
      return;
    }
    const crts = names.filter((n) => n.endsWith('.crt'));
    const certFiles = names.filter((n) => n.endsWith('.cert'));
    const keyFiles = names.filter((n) => n.endsWith('.key'));
    if (crts.length + certFiles.length + keyFiles.length > MAX_DIR_FILES) {
      this.fail(`${where} for ${host} has more than ${MAX_DIR_FILES} certificate and key files; keep only the ones for this registry`);
      return;
    }
    const missingBefore = this.out.missing.length;
    const cas: string[] = [];
    for (const name of crts) {
      const file = join(dir, name);
      const text = await this.readPem(file, this.shown(file));
      const parsed = text === undefined ? undefined : this.parse(text, this.shown(file), false);
      if (parsed) cas.push(...parsed.certs.map((c) => c.pem));
    }
    const pairs = this.clientPairs(dir, certFiles, keyFiles);
    if (crts.length === 0 && certFiles.length === 0 && keyFiles.length === 0) {
      this.fail(`${where} for ${host} has no *.crt file and no client.cert/client.key pair; put the registry's CA certificate in ca.crt`);
    }
    const pair = pairs.length === 1 ? pairs[0] : undefined;
    const client = pair ? await this.loadClientPair(dir, pair) : undefined;
    if (!this.problems.length && this.out.missing.length === missingBefore && (cas.length || client)) {
      const parts = [cas.length ? plural(cas.length, 'certificate') : '', client ? `client certificate ${pair!.cert}` : ''];
      this.out.trust.push({ host, caPems: cas, client, describe: `directory ${this.display(dir)} (${parts.filter(Boolean).join('; ')})` });
    }
  }

  /** X.cert and X.key files that belong together; a half of a pair, or more than one pair, is a problem. */
  private clientPairs(dir: string, certFiles: string[], keyFiles: string[]): { cert: string; key: string }[] {
    const { host } = this;
    const pairs: { cert: string; key: string }[] = [];
    for (const name of certFiles) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (keyFiles.includes(keyName)) pairs.push({ cert: name, key: keyName });
      else this.fail(`${this.shown(join(dir, name))} for ${host} has no ${keyName} next to it; docker pairs X.cert with X.key, so add the key or remove the certificate`);
    }
    for (const name of keyFiles) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!certFiles.includes(certName)) this.fail(`${this.shown(join(dir, name))} for ${host} has no ${certName} next to it; docker pairs X.cert with X.key, so add the certificate or remove the key`);
    }
    if (pairs.length > 1) {
      this.fail(`${this.shown(dir)} for ${host} has ${pairs.length} client certificates (${pairs.map((p) => p.cert).join(', ')}); keep one pair`);
    }
    return pairs;
  }

  /** The client certificate and its key, when both load and the key belongs to the (first) certificate. */
  private async loadClientPair(dir: string, pair: { cert: string; key: string }): Promise<RegistryTrust['client']> {
    const { host } = this;
    const certFile = join(dir, pair.cert);
    const keyFile = join(dir, pair.key);
    const certText = await this.readPem(certFile, this.shown(certFile));
    const keyText = await this.readPem(keyFile, this.shown(keyFile));
    const certs = certText === undefined ? undefined : this.parse(certText, this.shown(certFile), false);
    const keys = keyText === undefined ? undefined : this.parse(keyText, this.shown(keyFile), true);
    if (keys && (keys.keys.length !== 1 || keys.certs.length)) {
      this.fail(`${this.shown(keyFile)} for ${host} should hold exactly one private key and nothing else; give only the client key`);
      return undefined;
    }
    if (!certs || !keys) return undefined;
    const leaf = certs.certs[0]!; // Go's tls.LoadX509KeyPair: the key belongs to the first certificate
    if (!keyMatches(keys.keys[0]!.key, leaf.x509)) {
      this.fail(`${this.shown(keyFile)} for ${host} does not match the certificate in ${this.shown(certFile)} (${subjectOf(leaf.x509)}); give the key that belongs to that certificate`);
      return undefined;
    }
    return { certPem: certs.certs.map((c) => c.pem).join(''), keyPem: keys.keys[0]!.pem };
  }
}

/** Whether bytes without a PEM marker are a DER certificate (a common mistake worth its own message). */
function isDer(data: Buffer): boolean {
  try {
    new X509Certificate(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * The certs.d layout dockerd reads (/etc/docker/certs.d/<host>/): ca.crt with every CA certificate, and
 * client.cert / client.key for mutual TLS. Paths are relative to the certs.d directory.
 */
export function certsDirFiles(trust: RegistryTrust[]): { path: string; content: string; mode: number }[] {
  const files: { path: string; content: string; mode: number }[] = [];
  for (const t of trust) {
    // The host names a directory: it must never climb out of certs.d.
    if (!t.host || t.host === '.' || t.host === '..' || /[/\\\0]/.test(t.host)) throw new Error(`registry host ${JSON.stringify(t.host)} cannot name a certs.d directory`);
    const pem = (p: string) => (p.endsWith('\n') ? p : `${p}\n`);
    if (t.caPems.length) files.push({ path: `${t.host}/ca.crt`, content: t.caPems.map(pem).join(''), mode: 0o644 });
    if (t.client) {
      files.push({ path: `${t.host}/client.cert`, content: pem(t.client.certPem), mode: 0o644 });
      files.push({ path: `${t.host}/client.key`, content: pem(t.client.keyPem), mode: 0o600 });
    }
  }
  return files;
}
