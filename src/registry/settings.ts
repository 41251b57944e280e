// Registry inputs: pull-through mirrors, insecure registries, per-registry certificates and extra daemon.json
// settings. This module checks syntax only and never touches the file system: certificate files are read by
// certs.ts, where they may not exist yet (in the pre phase the workspace is not checked out).
import { isIP } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { type Cidr, bits, inCidr, ipToBigInt } from '../network/cidr.js';
import { showValue } from '../show.js';

export type CertSource = { kind: 'file'; path: string } | { kind: 'dir'; path: string } | { kind: 'inline'; pem: string };
export interface CertRequest {
  host: string; // host or host:port, lower-cased
  source: CertSource;
}
export interface RegistrySettings {
  mirrors: string[]; // normalized https URLs without trailing slash (http when the host is insecure)
  insecure: string[]; // host[:port] or CIDR, lower-cased
  certs: CertRequest[];
  daemonConfig: Record<string, unknown>;
}
export interface RegistryRaw {
  'registry-mirrors': string;
  'insecure-registries': string;
  'registry-certs': string;
  'daemon-config': string;
}
export type RegistryInputName = keyof RegistryRaw;

export const MAX_ENTRIES = 100;
export const MAX_LINE_CHARS = 64 * 1024;
export const MAX_INPUT_CHARS = 1024 * 1024;

const HOST_EXAMPLE = 'like registry.example.com:5000';
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface HostPort {
  host: string; // normalized host[:port]: lower case, IPv6 in brackets, port without leading zeros
  hostname: string; // without the port; IPv6 keeps its brackets
  port?: number;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const isDnsName = (name: string) => {
  const labels = name.split('.');
  // No all-numeric last label: '256.1.1.1' or '10.0.0' is a broken IP address, not a name.
  return name.length <= 253 && labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
};

/**
 * Checks a registry host written as host[:port] (a DNS name, an IPv4 address or an [IPv6] address; port 1-65535).
 * Returns the normalized host, or what is wrong and what to do as one phrase ("has a path; give …").
 */
export function parseHostPort(value: string): HostPort | string {
  const v = value.trim().toLowerCase();
  if (v === '') return `is empty; give a registry host, ${HOST_EXAMPLE}`;
  if (CONTROL.test(v)) return 'contains a control character; remove it';
  if (/\s/.test(v)) return `contains whitespace; give only host[:port], ${HOST_EXAMPLE}`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(v);
  if (scheme) return `has a scheme (${scheme[1]}://); remove it and give only host[:port], ${HOST_EXAMPLE}`;
  if (v.includes('@')) return 'contains user info (@); remove it (credentials belong in docker login, not here)';
  if (v.includes('/')) return `has a path; give only host[:port], ${HOST_EXAMPLE}`;
  if (/[?#]/.test(v)) return `has a query or fragment; give only host[:port], ${HOST_EXAMPLE}`;
  if (/[^\x20-\x7e]/.test(v)) return 'contains non-ASCII characters; write an international name in its punycode (xn--) form';
  let hostname: string;
  let portText: string | undefined;
  if (v.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(v);
    if (!m) return 'is not a valid [IPv6]:port address; write it like [fd00::1]:5000';
    if (m[1]!.includes('%') || isIP(m[1]!) !== 6) return `has ${showValue(m[1]!)} in brackets, which is not an IPv6 address; write it like [fd00::1]:5000`;
    hostname = `[${m[1]}]`;
    portText = m[2];
  } else {
    const parts = v.split(':');
    if (parts.length > 2) return 'looks like an IPv6 address without brackets; write it like [fd00::1]:5000';
    hostname = parts[0]!;
    portText = parts[1];
    if (hostname === '') return `has no host name; ${HOST_EXAMPLE}`;
    if (isIP(hostname) !== 4 && !isDnsName(hostname)) {
      return `is not a valid host name or IP address (letters, digits, - and . only); ${HOST_EXAMPLE}`;
    }
  }
  if (portText === undefined) return { host: hostname, hostname };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return `has an invalid port ${showValue(portText)}; use a port between 1 and 65535, ${HOST_EXAMPLE}`;
  return { host: `${hostname}:${port}`, hostname, port };
}

// ---------------------------------------------------------------------------
// CIDR entries of insecure-registries (dockerd matches IP-literal registries against them).

function parseInsecureCidr(value: string): Cidr | string {
  const [addr = '', prefixText = '', ...rest] = value.split('/');
  const ip = ipToBigInt(addr);
  if (rest.length || !ip) {
    return 'is not a valid CIDR; write a network like 10.0.0.0/8 or fd00::/64, or a host[:port] without a path';
  }
  const max = bits(ip.family);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `has an invalid prefix length ${showValue(prefixText)}; use 0 to ${max} for an IPv${ip.family} network`;
  return { family: ip.family, address: ip.value, prefix };
}

// ---------------------------------------------------------------------------

interface Line { text: string; number: number }

/** The raw registry inputs, read with the limits every one of them has; problems of reading go to `problems`. */
class RegistryText {
  readonly problems: string[] = [];

  constructor(private readonly raw: RegistryRaw) {}

  // registry-certs may hold private keys: messages show it without PEM bodies or other long base64 runs.
  shown(name: RegistryInputName, value: string): string {
    return showValue(name === 'registry-certs' ? redactPem(value) : value);
  }

  /** The raw text of an input, or undefined when it is too broken to read further (the problem is reported). */
  text(name: RegistryInputName): string | undefined {
    const value = this.raw[name] ?? '';
    if (typeof value !== 'string') {
      this.problems.push(`input "${name}": is not text; give it as a string`);
      return undefined;
    }
    if (value.includes('\0')) {
      this.problems.push(`input "${name}": ${this.shown(name, value)} contains a NUL character; remove it`);
      return undefined;
    }
    if (value.length > MAX_INPUT_CHARS) {
      this.problems.push(`input "${name}": ${this.shown(name, value)} is longer than the limit of ${MAX_INPUT_CHARS} characters; give only registry settings here`);
      return undefined;
    }
    return value;
  }

  /** Lines without blank ones and # comments, each at most MAX_LINE_CHARS long. */
  linesOf(name: RegistryInputName, value: string): Line[] | undefined {
    const lines: Line[] = [];
    const all = value.split(/\r\n|\n|\r/);
    for (let i = 0; i < all.length; i++) {
      const line = all[i]!;
      if (line.length > MAX_LINE_CHARS) {
        this.problems.push(`input "${name}": ${this.shown(name, line)} (line ${i + 1}) is longer than the limit of ${MAX_LINE_CHARS} characters; put one entry per line`);
        return undefined;
      }
      const trimmed = line.trim();
      if (trimmed && !trimmed.startsWith('#')) lines.push({ text: trimmed, number: i + 1 });
    }
    return lines;
  }

  tooMany(name: RegistryInputName, value: string, count?: number): void {
    const has = count === undefined ? `more than ${MAX_ENTRIES} entries` : `${count} entries, more than the limit of ${MAX_ENTRIES}`;
    this.problems.push(`input "${name}": ${this.shown(name, value)} has ${has}; list fewer registries`);
  }

  /** Entries separated by newlines or commas. */
  listEntries(name: RegistryInputName): string[] {
    const value = this.text(name);
    if (value === undefined) return [];
    const lines = this.linesOf(name, value);
    if (!lines) return [];
    const entries = lines.flatMap((l) => l.text.split(',')).map((e) => e.trim()).filter(Boolean);
    if (entries.length > MAX_ENTRIES) {
      this.tooMany(name, value, entries.length);
      return [];
    }
    return entries;
  }
}

export function parseRegistrySettings(raw: RegistryRaw, opts: { baseDir: string }): { settings: RegistrySettings; problems: string[] } {
  const input = new RegistryText(raw);
  // insecure-registries first: the mirrors are checked against it.
  const insecure = parseInsecure(input.listEntries('insecure-registries'));
  const mirrors = parseMirrors(input.listEntries('registry-mirrors'), insecure);
  const certs = parseRegistryCerts(input, resolve(opts.baseDir));
  const config = parseDaemonConfig(input.text('daemon-config')?.trim() ?? '');
  const problems = [...input.problems, ...mirrors.problems, ...insecure.problems, ...certs.problems, ...config.problems];
  return { settings: { mirrors: mirrors.mirrors, insecure: insecure.insecure, certs: certs.certs, daemonConfig: config.daemonConfig }, problems };
}

interface Insecure { insecure: string[]; hosts: Set<string>; cidrs: Cidr[]; problems: string[] }

function parseInsecure(entries: string[]): Insecure {
  const out: Insecure = { insecure: [], hosts: new Set(), cidrs: [], problems: [] };
  for (const entry of entries) {
    const bad = (what: string) => out.problems.push(`input "insecure-registries": ${showValue(entry)} ${what}`);
    let normalized: string;
    if (entry.includes('/') && !entry.includes('://')) {
      const cidr = parseInsecureCidr(entry);
      if (typeof cidr === 'string') {
        bad(cidr);
        continue;
      }
      out.cidrs.push(cidr);
      normalized = entry.toLowerCase();
    } else {
      const hp = parseHostPort(entry);
      if (typeof hp === 'string') {
        bad(hp);
        continue;
      }
      out.hosts.add(hp.host);
      normalized = hp.host;
    }
    if (out.insecure.includes(normalized)) {
      bad(`is listed twice${normalized !== entry ? ` (as ${showValue(normalized)})` : ''}; remove the duplicate`);
      continue;
    }
    out.insecure.push(normalized);
  }
  return out;
}

function parseMirrors(entries: string[], insecure: Insecure): { mirrors: string[]; problems: string[] } {
  const mirrors: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const result = parseMirror(entry, insecure);
    let what = 'problem' in result ? result.problem : undefined;
    if ('mirror' in result) {
      if (!mirrors.includes(result.mirror)) mirrors.push(result.mirror);
      else what = `is listed twice${result.mirror !== entry ? ` (as ${showValue(result.mirror)})` : ''}; remove the duplicate`;
    }
    if (what) problems.push(`input "registry-mirrors": ${showValue(entry)} ${what}`);
  }
  return { mirrors, problems };
}

/** One mirror URL, normalized, or what is wrong with it (a phrase that follows the shown value). */
function parseMirror(entry: string, insecure: Insecure): { mirror: string } | { problem: string } {
  const problem = (what: string) => ({ problem: what });
  if (CONTROL.test(entry)) return problem('contains a control character; remove it');
  if (/\s/.test(entry)) return problem('contains whitespace; separate mirrors with commas or newlines');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
  if (!scheme) return problem(`has no scheme; write the mirror as a URL, like https://${entry.replace(/^\/+/, '')}`);
  if (!/^https?$/i.test(scheme[1]!)) return problem(`uses the scheme ${scheme[1]}://; registry mirrors are https:// URLs, like https://mirror.example.com`);
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return problem('is not a valid URL; write it like https://mirror.example.com');
  }
  if (url.username || url.password || entry.slice(scheme[0].length).split('/')[0]!.includes('@')) {
    return problem('contains user info; remove it (credentials belong in docker login, not in the mirror URL)');
  }
  if (entry.includes('?') || entry.includes('#')) return problem('has a query or fragment; give only the mirror\'s base URL, like https://mirror.example.com');
  const hp = parseHostPort(url.host);
  if (typeof hp === 'string') return problem(`has a host that ${hp}`);
  if (url.protocol === 'http:') {
    // URL drops a default port: http://m:80 has host m, and insecure-registries may list either form.
    const forms = [hp.host, `${hp.hostname}:${hp.port ?? 80}`];
    if (!forms.some((f) => insecure.hosts.has(f)) && !insecure.cidrs.some((c) => inCidr(hp.hostname, c))) {
      return problem(`is plain HTTP, but ${hp.host} is not in insecure-registries; use https:// or add ${hp.host} to insecure-registries`);
    }
  }
  return { mirror: `${url.protocol}//${hp.host}${url.pathname.replace(/\/+$/, '')}` };
}

function parseDaemonConfig(configText: string): { daemonConfig: Record<string, unknown>; problems: string[] } {
  const daemonConfig: Record<string, unknown> = {};
  const problems: string[] = [];
  if (!configText) return { daemonConfig, problems };
  const bad = (what: string) => problems.push(`input "daemon-config": ${showValue(configText)} ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(configText);
  } catch (e) {
    const reason = String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 160);
    bad(`is not valid JSON (${reason}); give a JSON object, like {"debug": true}`);
    return { daemonConfig, problems };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    bad(`is ${kind}, not a JSON object; write the settings inside { }, like {"debug": true}`);
  } else if (Object.hasOwn(value, '__proto__')) {
    bad('has a "__proto__" key, which is not a daemon setting; remove it');
  } else {
    for (const [key, v] of Object.entries(value)) daemonConfig[key] = v;
  }
  return { daemonConfig, problems };
}

/** Text with every PEM body (and any other long base64 run) replaced by …, for messages. */
export function redactPem(text: string): string {
  return text
    .replace(/(-----BEGIN [A-Z0-9 ]+-----)[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, '$1…')
    .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, '…');
}

export const isEmptyRegistrySettings = (s: RegistrySettings): boolean =>
  s.mirrors.length === 0 && s.insecure.length === 0 && s.certs.length === 0 && Object.keys(s.daemonConfig).length === 0;

// ---------------------------------------------------------------------------
// registry-certs: HOST[:PORT]=SOURCE lines; an inline PEM continues over the following lines.

const BEGIN = /^-----BEGIN [A-Z0-9 ]+-----/;
const MARKER = /-----(BEGIN|END) [A-Z0-9 ]+-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]+=*$/;
// A line that starts a new HOST=SOURCE entry rather than continuing base64 (whose '=' only pads the end).
const looksLikeEntry = (line: string) => /^[^=\s]+=\s*\S/.test(line) && !BASE64_LINE.test(line);

/** Consumes the PEM that starts at lines[i] (its first line is `first`): returns the PEM and the next index. */
function collectPem(lines: Line[], i: number, first: string): { pem?: string; next: number } {
  const pemLines: string[] = [];
  let open = 0;
  let j = i;
  let line = first;
  for (;;) {
    for (const m of line.matchAll(MARKER)) open += m[1] === 'BEGIN' ? 1 : -1;
    pemLines.push(line);
    j++;
    const next = lines[j];
    if (open <= 0) {
      // The PEM goes on only if another block follows (a certificate and its key, a chain).
      if (next && BEGIN.test(next.text)) {
        line = next.text;
        continue;
      }
      return { pem: `${pemLines.join('\n')}\n`, next: j };
    }
    if (!next || looksLikeEntry(next.text)) return { next: j };
    line = next.text;
  }
}

function parseRegistryCerts(input: RegistryText, baseDir: string): { certs: CertRequest[]; problems: string[] } {
  const certs: CertRequest[] = [];
  const problems: string[] = [];
  const value = input.text('registry-certs');
  const lines = value === undefined ? undefined : input.linesOf('registry-certs', value);
  if (value === undefined || !lines) return { certs, problems };
  const seen = new Map<string, number>(); // host -> line
  let entries = 0;
  for (let i = 0; i < lines.length; ) {
    const { text: line, number } = lines[i]!;
    if (++entries > MAX_ENTRIES) {
      input.tooMany('registry-certs', value);
      return { certs: [], problems: [] }; // rejected as a whole: the problems of single lines would only bury that
    }
    if (BEGIN.test(line)) {
      // PEM text without HOST= in front: skip the whole block rather than complaining about every base64 line.
      i = collectPem(lines, i, line).next;
      problems.push(`input "registry-certs": the PEM block at line ${number} has no registry in front; write it as HOST[:PORT]=-----BEGIN …, like registry.example.com:5000=-----BEGIN CERTIFICATE-----`);
      continue;
    }
    const entry = parseCertEntry(lines, i, baseDir);
    const bad = (what: string) => problems.push(`input "registry-certs": ${showValue(entry.shown)} (line ${number}) ${what}`);
    for (const what of entry.problems) bad(what);
    if (entry.request) {
      const first = seen.get(entry.request.host);
      if (first !== undefined) bad(`names ${entry.request.host} again (first on line ${first}); give one source per registry (a directory can hold several certificates)`);
      else {
        seen.set(entry.request.host, number);
        certs.push(entry.request);
      }
    }
    i = entry.next;
  }
  return { certs, problems };
}

/** The HOST[:PORT]=SOURCE entry at lines[i]: the request or its problems, how to show it, and the next line's index. */
function parseCertEntry(lines: Line[], i: number, baseDir: string): { request?: CertRequest; problems: string[]; shown: string; next: number } {
  const line = lines[i]!.text;
  const eq = line.indexOf('=');
  if (eq < 0) return { problems: ['is not HOST[:PORT]=SOURCE; write one registry per line, like registry.example.com:5000=certs/ca.pem'], shown: line, next: i + 1 };
  const hostText = line.slice(0, eq).trim();
  const sourceText = line.slice(eq + 1).trim();
  let next = i + 1;
  let source: CertSource | string;
  if (BEGIN.test(sourceText)) {
    const collected = collectPem(lines, i, sourceText);
    next = collected.next;
    source = collected.pem === undefined ? 'has an inline PEM without its -----END line; paste the whole PEM, from -----BEGIN to -----END' : { kind: 'inline', pem: collected.pem };
  } else {
    source = certPath(sourceText, baseDir);
  }
  // Never show an inline PEM in a message: it may hold a private key.
  const shown = BEGIN.test(sourceText) ? `${hostText}=-----BEGIN …` : line;
  const hp = parseHostPort(hostText);
  const problems: string[] = [];
  if (typeof hp === 'string') problems.push(`has a registry host that ${hp}`);
  if (typeof source === 'string') problems.push(source);
  const request = typeof hp !== 'string' && typeof source !== 'string' ? { host: hp.host, source } : undefined;
  return { request, problems, shown, next };
}

/** A file or certs.d-style directory source (a trailing / means a directory), or what is wrong with the path. */
function certPath(sourceText: string, baseDir: string): CertSource | string {
  if (sourceText === '') return 'has nothing after =; give a PEM file, a certs.d-style directory or the PEM text itself';
  if (CONTROL.test(sourceText)) return 'has a control character in the path; remove it';
  if (sourceText.startsWith('~')) return 'has a path starting with ~, which is not expanded; use an absolute path or one relative to the workspace';
  if (sourceText.startsWith('-----')) return 'has a PEM marker that is not -----BEGIN …-----; paste the whole PEM, starting with its -----BEGIN line';
  const path = resolve(baseDir, sourceText);
  const rel = relative(baseDir, path);
  if (!isAbsolute(sourceText) && (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))) {
    return `has a relative path that leaves the workspace (${baseDir}); keep certificates inside the workspace or give an absolute path`;
  }
  return { kind: /[/\\]$/.test(sourceText) ? 'dir' : 'file', path };
}
