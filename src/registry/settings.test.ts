import { describe, expect, it } from 'vitest';
import { generateTls } from '../endpoint/tls.js';
import { MAX_ENTRIES, MAX_INPUT_CHARS, MAX_LINE_CHARS, isEmptyRegistrySettings, parseHostPort, parseRegistrySettings, redactPem, type RegistryRaw } from './settings.js';

const BASE = '/work/ws';
const EMPTY: RegistryRaw = { 'registry-mirrors': '', 'insecure-registries': '', 'registry-certs': '', 'daemon-config': '' };
const parse = (given: Partial<RegistryRaw>) => parseRegistrySettings({ ...EMPTY, ...given }, { baseDir: BASE });
const ok = (given: Partial<RegistryRaw>) => {
  const { settings, problems } = parse(given);
  expect(problems).toEqual([]);
  return settings;
};
const problemsOf = (given: Partial<RegistryRaw>) => parse(given).problems;
/** Exactly one problem, naming the input, the value and a remedy after a semicolon. */
const oneProblem = (given: Partial<RegistryRaw>, input: keyof RegistryRaw, value: string, what: RegExp) => {
  const problems = problemsOf(given);
  expect(problems).toHaveLength(1);
  const p = problems[0]!;
  expect(p.startsWith(`input "${input}": `)).toBe(true);
  expect(p).toContain(value);
  expect(p).toMatch(what);
  expect(p).toMatch(/; \S/);
  return p;
};

const tls = generateTls({ serverNames: ['registry.test'] });
const body = (pem: string) => pem.split('\n').slice(1, -2).join('\n'); // the base64 of a one-block PEM

describe('parseHostPort', () => {
  it('accepts names, IPv4 and bracketed IPv6 with optional ports, and normalizes them', () => {
    expect(parseHostPort('Registry.Test:05000')).toEqual({ host: 'registry.test:5000', hostname: 'registry.test', port: 5000 });
    expect(parseHostPort('localhost')).toEqual({ host: 'localhost', hostname: 'localhost' });
    expect(parseHostPort('10.1.2.3:443')).toEqual({ host: '10.1.2.3:443', hostname: '10.1.2.3', port: 443 });
    expect(parseHostPort('[FD00::1]:5000')).toEqual({ host: '[fd00::1]:5000', hostname: '[fd00::1]', port: 5000 });
    expect(parseHostPort('[::1]')).toEqual({ host: '[::1]', hostname: '[::1]' });
    expect(parseHostPort('a-b.c-d.example:65535')).toMatchObject({ port: 65535 });
  });

  it.each([
    ['', /is empty/],
    ['https://registry.test', /has a scheme \(https:\/\/\)/],
    ['registry.test/v2', /has a path/],
    ['user:pw@registry.test', /user info/],
    ['registry.test:0', /invalid port "0"/],
    ['registry.test:65536', /invalid port "65536"/],
    ['registry.test:http', /invalid port "http"/],
    ['registry.test:', /invalid port ""/],
    ['fd00::1', /IPv6 address without brackets/],
    ['[fd00::zz]:5000', /not an IPv6 address/],
    ['[fe80::1%eth0]', /not an IPv6 address/],
    ['régistry.test', /punycode/],
    ['reg istry', /whitespace/],
    ['reg;rm -rf /', /whitespace|path/],
    ['$(reboot)', /not a valid host name/],
    ['under_score.test', /not a valid host name/],
    ['-lead.test', /not a valid host name/],
    ['256.1.1.1', /not a valid host name/],
    ['a..b', /not a valid host name/],
    ['x'.repeat(64) + '.test', /not a valid host name/],
    ['reg\u0007istry', /control character/],
    ['registry.test?x', /query or fragment/],
  ])('rejects %j', (value, what) => {
    const result = parseHostPort(value);
    expect(typeof result).toBe('string');
    expect(result).toMatch(what);
    expect(result).toMatch(/; /);
  });
});

describe('parseRegistrySettings', () => {
  it('gives empty settings for empty and whitespace-only inputs', () => {
    for (const v of ['', '   ', '\n\n', ' \t\r\n ', '# only a comment\n']) {
      const s = ok({ 'registry-mirrors': v, 'insecure-registries': v, 'registry-certs': v, 'daemon-config': v.includes('#') ? '' : v });
      expect(s).toEqual({ mirrors: [], insecure: [], certs: [], daemonConfig: {} });
      expect(isEmptyRegistrySettings(s)).toBe(true);
    }
  });

  it('isEmptyRegistrySettings is false as soon as anything is set', () => {
    expect(isEmptyRegistrySettings(ok({ 'registry-mirrors': 'https://m.test' }))).toBe(false);
    expect(isEmptyRegistrySettings(ok({ 'insecure-registries': 'r.test' }))).toBe(false);
    expect(isEmptyRegistrySettings(ok({ 'registry-certs': 'r.test=ca.pem' }))).toBe(false);
    expect(isEmptyRegistrySettings(ok({ 'daemon-config': '{"debug":true}' }))).toBe(false);
  });

  describe('registry-mirrors', () => {
    it('splits on newlines and commas, skips comments, and normalizes', () => {
      const s = ok({ 'registry-mirrors': '# our mirrors\nhttps://Mirror.Example.com/ , https://m2.test:5000/dockerhub/\r\n\n  https://m3.test:443  ' });
      expect(s.mirrors).toEqual(['https://mirror.example.com', 'https://m2.test:5000/dockerhub', 'https://m3.test']);
    });

    it('converts an international name to punycode', () => {
      expect(ok({ 'registry-mirrors': 'https://régistry.test' }).mirrors).toEqual(['https://xn--rgistry-bya.test']);
    });

    it('keeps an http mirror when its host is insecure, by host[:port] or CIDR', () => {
      expect(ok({ 'registry-mirrors': 'http://mirror.test:5000', 'insecure-registries': 'MIRROR.test:5000' }).mirrors).toEqual(['http://mirror.test:5000']);
      expect(ok({ 'registry-mirrors': 'http://10.1.2.3:5000', 'insecure-registries': '10.0.0.0/8' }).mirrors).toEqual(['http://10.1.2.3:5000']);
      expect(ok({ 'registry-mirrors': 'http://[fd00::5]:5000', 'insecure-registries': 'fd00::/64' }).mirrors).toEqual(['http://[fd00::5]:5000']);
      // http://m:80 and m:80 name the same registry (URL drops the default port).
      expect(ok({ 'registry-mirrors': 'http://m.test:80', 'insecure-registries': 'm.test:80' }).mirrors).toEqual(['http://m.test']);
      expect(ok({ 'registry-mirrors': 'http://m.test', 'insecure-registries': 'm.test' }).mirrors).toEqual(['http://m.test']);
    });

    it('rejects an http mirror that is not insecure', () => {
      oneProblem({ 'registry-mirrors': 'http://mirror.test:5000' }, 'registry-mirrors', '"http://mirror.test:5000"',
        /is plain HTTP, but mirror\.test:5000 is not in insecure-registries; use https:\/\/ or add mirror\.test:5000 to insecure-registries/);
      oneProblem({ 'registry-mirrors': 'http://mirror.test:5000', 'insecure-registries': 'mirror.test:5001' }, 'registry-mirrors', 'http://mirror.test:5000', /plain HTTP/);
      oneProblem({ 'registry-mirrors': 'http://11.1.2.3', 'insecure-registries': '10.0.0.0/8' }, 'registry-mirrors', 'http://11.1.2.3', /plain HTTP/);
    });

    it.each([
      ['mirror.test', /has no scheme; write the mirror as a URL, like https:\/\/mirror\.test/],
      ['mirror.test:5000', /has no scheme/],
      ['ftp://mirror.test', /uses the scheme ftp:\/\//],
      ['unix:///run/x.sock', /uses the scheme unix:\/\//],
      ['https://user:pw@mirror.test', /contains user info/],
      ['https://token@mirror.test', /contains user info/],
      ['https://mirror.test/?x=1', /query or fragment/],
      ['https://mirror.test/#top', /query or fragment/],
      ['https://mirror.test?', /query or fragment/],
      ['https://under_score.test', /has a host that is not a valid host name/],
      ['https://mirror.test:99999', /not a valid URL/],
      ['https://', /not a valid URL/],
      ['https://mirror.test/a b', /whitespace/],
      ['https://$(reboot)', /not a valid/],
      ['https://m.test/\u0001', /control character/],
    ])('rejects %j', (value, what) => {
      oneProblem({ 'registry-mirrors': value }, 'registry-mirrors', JSON.stringify(value), what);
    });

    it('rejects duplicates, also after normalization', () => {
      const p = oneProblem({ 'registry-mirrors': 'https://m.test\nhttps://M.test/' }, 'registry-mirrors', '"https://M.test/"', /is listed twice \(as "https:\/\/m\.test"\); remove the duplicate/);
      expect(p).toBeTruthy();
    });
  });

  describe('insecure-registries', () => {
    it('accepts hosts, host:port, IPv6 and CIDRs', () => {
      const s = ok({ 'insecure-registries': 'Reg.test:5000, 10.0.0.0/8\nfd00::/8\n[fd00::1]:5000\n192.168.1.7\n0.0.0.0/0' });
      expect(s.insecure).toEqual(['reg.test:5000', '10.0.0.0/8', 'fd00::/8', '[fd00::1]:5000', '192.168.1.7', '0.0.0.0/0']);
    });

    it.each([
      ['http://reg.test:5000', /has a scheme \(http:\/\/\); remove it/],
      ['reg.test/v2', /is not a valid CIDR/],
      ['10.0.0.0/33', /invalid prefix length "33"; use 0 to 32/],
      ['fd00::/129', /invalid prefix length "129"; use 0 to 128/],
      ['10.0.0.0/', /invalid prefix length ""/],
      ['10.0.0/8', /is not a valid CIDR/],
      ['10.0.0.0/8/9', /is not a valid CIDR/],
      ['reg.test:0', /invalid port/],
      ['fd00::1', /brackets/],
      ['a b', /whitespace/],
    ])('rejects %j', (value, what) => {
      oneProblem({ 'insecure-registries': value }, 'insecure-registries', JSON.stringify(value), what);
    });

    it('rejects duplicates', () => {
      oneProblem({ 'insecure-registries': 'reg.test:5000,REG.test:5000' }, 'insecure-registries', '"REG.test:5000"', /listed twice/);
      oneProblem({ 'insecure-registries': '10.0.0.0/8\n10.0.0.0/8' }, 'insecure-registries', '"10.0.0.0/8"', /listed twice; remove the duplicate/);
    });
  });

  describe('registry-certs', () => {
    it('resolves relative paths in the workspace, keeps absolute ones, tells files from directories', () => {
      const s = ok({ 'registry-certs': '# company CA\nRegistry.Test:5000 = certs/ca.pem\n\nother.test=/etc/ssl/company/\n[fd00::1]:443=certs/../ca.pem\r\nx.test=./certs.d/x.test/' });
      expect(s.certs).toEqual([
        { host: 'registry.test:5000', source: { kind: 'file', path: '/work/ws/certs/ca.pem' } },
        { host: 'other.test', source: { kind: 'dir', path: '/etc/ssl/company' } },
        { host: '[fd00::1]:443', source: { kind: 'file', path: '/work/ws/ca.pem' } },
        { host: 'x.test', source: { kind: 'dir', path: '/work/ws/certs.d/x.test' } },
      ]);
    });

    it('keeps shell metacharacters in paths as plain characters', () => {
      expect(ok({ 'registry-certs': 'r.test=certs/$(rm -rf ~);`x`|&.pem' }).certs[0]!.source).toEqual({ kind: 'file', path: '/work/ws/certs/$(rm -rf ~);`x`|&.pem' });
    });

    it.each(['../ca.pem', 'certs/../../ca.pem', '..', './../ws-other/ca.pem'])('rejects the relative path %j that leaves the workspace', (path) => {
      oneProblem({ 'registry-certs': `r.test=${path}` }, 'registry-certs', `"r.test=${path}"`, /\(line 1\) has a relative path that leaves the workspace \(\/work\/ws\); keep certificates inside the workspace or give an absolute path/);
    });

    it('takes an inline PEM over several lines, a certificate with its key', () => {
      const input = `registry.test:5000=${tls.clientCert}${tls.clientKey}other.test=certs/ca.pem\n`;
      const s = ok({ 'registry-certs': input });
      expect(s.certs).toEqual([
        { host: 'registry.test:5000', source: { kind: 'inline', pem: tls.clientCert + tls.clientKey } },
        { host: 'other.test', source: { kind: 'file', path: '/work/ws/certs/ca.pem' } },
      ]);
    });

    it('takes indented inline PEM with blank lines between blocks, and PEM on one line', () => {
      const indented = (pem: string) => pem.trim().split('\n').map((l) => `    ${l}`).join('\n');
      const s = ok({ 'registry-certs': `a.test=${tls.caCert.trim()}\n\n${indented(tls.serverCert)}\n\n# next\nb.test=${tls.caCert.replace(/\n/g, ' ')}` });
      expect(s.certs.map((c) => c.host)).toEqual(['a.test', 'b.test']);
      const a = s.certs[0]!.source;
      expect(a.kind === 'inline' && a.pem).toBe(tls.caCert + tls.serverCert);
      expect(s.certs[1]!.source.kind).toBe('inline');
    });

    it('reports an inline PEM without its END line and still reads the next entries', () => {
      const cut = tls.clientKey.split('\n').slice(0, 3).join('\n');
      const { settings, problems } = parse({ 'registry-certs': `a.test=${cut}\nb.test=certs/b.pem` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toBe('input "registry-certs": "a.test=-----BEGIN …" (line 1) has an inline PEM without its -----END line; paste the whole PEM, from -----BEGIN to -----END');
      expect(settings.certs).toEqual([{ host: 'b.test', source: { kind: 'file', path: '/work/ws/certs/b.pem' } }]);
      // The key never appears in a message.
      expect(problems[0]).not.toContain(cut.split('\n')[1]);
    });

    it('reports PEM without a host once, not once per line', () => {
      const p = oneProblem({ 'registry-certs': tls.caCert }, 'registry-certs', 'line 1', /has no registry in front; write it as HOST\[:PORT\]=-----BEGIN/);
      expect(p).not.toContain(tls.caCert.split('\n')[1]);
    });

    it.each([
      ['registry.test', /"registry\.test" \(line 1\) is not HOST\[:PORT\]=SOURCE; write one registry per line/],
      ['registry.test=', /has nothing after =; give a PEM file/],
      ['registry.test=   ', /has nothing after =/],
      ['=certs/ca.pem', /has a registry host that is empty/],
      ['https://registry.test=certs/ca.pem', /has a registry host that has a scheme \(https:\/\/\); remove it/],
      ['registry.test/v2=certs/ca.pem', /has a registry host that has a path/],
      ['me@registry.test=certs/ca.pem', /has a registry host that contains user info/],
      ['régistry.test=certs/ca.pem', /punycode/],
      ['r.test=~/ca.pem', /starting with ~, which is not expanded/],
      ['r.test=certs/\u0007.pem', /control character in the path/],
      ['r.test=-----END CERTIFICATE-----', /PEM marker that is not -----BEGIN/],
    ])('rejects %j', (line, what) => {
      oneProblem({ 'registry-certs': line }, 'registry-certs', '(line 1)', what);
    });

    it('rejects the same host twice, naming the first line', () => {
      oneProblem({ 'registry-certs': 'r.test:5000=a.pem\n\nR.TEST:5000=b.pem' }, 'registry-certs', '"R.TEST:5000=b.pem" (line 3)', /names r\.test:5000 again \(first on line 1\); give one source per registry/);
      // a different port is a different registry
      expect(ok({ 'registry-certs': 'r.test=a.pem\nr.test:5000=b.pem' }).certs).toHaveLength(2);
    });

    it('never shows PEM content in a message about the whole input', () => {
      const secret = body(tls.clientKey).split('\n')[0]!;
      const inputs = [`r.test=${tls.clientKey}\0`, `r.test=${tls.clientKey}${'a.test=x\n'.repeat(MAX_INPUT_CHARS / 9)}`, `z.test=${tls.clientKey}${Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => `a${i}.test=x\n`).join('')}`];
      for (const value of inputs) {
        const problems = problemsOf({ 'registry-certs': value });
        expect(problems).toHaveLength(1);
        expect(problems[0]).not.toContain(secret.slice(0, 20));
      }
      const [p] = problemsOf({ 'registry-certs': `r.test=${tls.clientKey}\0` });
      expect(p).toMatch(/^input "registry-certs": "r\.test=-----BEGIN PRIVATE KEY-----…\\n\\u0000" contains a NUL character; remove it$/);
      const long = problemsOf({ 'registry-certs': `r.test=${'QUJD'.repeat(MAX_LINE_CHARS)}` })[0]!;
      expect(long).toMatch(/^input "registry-certs": "r\.test=…" \(line 1\) is longer than the limit/);
      expect(redactPem(`a=${tls.caCert}b=${tls.clientKey.slice(0, 100)}`)).toBe('a=-----BEGIN CERTIFICATE-----…\nb=-----BEGIN PRIVATE KEY-----…');
    });

    it('never shows inline PEM content in a message', () => {
      const { problems } = parse({ 'registry-certs': `bad host=${tls.serverKey}` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('"bad host=-----BEGIN …" (line 1) has a registry host that contains whitespace');
      for (const line of tls.serverKey.split('\n').slice(1, -2)) expect(problems[0]).not.toContain(line);
    });
  });

  describe('daemon-config', () => {
    it('parses a JSON object', () => {
      expect(ok({ 'daemon-config': ' {"debug": true, "features": {"containerd-snapshotter": true}, "mtu": 1400} ' }).daemonConfig)
        .toEqual({ debug: true, features: { 'containerd-snapshotter': true }, mtu: 1400 });
    });

    it.each([
      ['{debug: true}', /is not valid JSON \(.+\); give a JSON object, like \{"debug": true\}/],
      ['{"debug": true', /is not valid JSON/],
      ['"debug"', /is a string, not a JSON object; write the settings inside \{ \}/],
      ['[1, 2]', /is an array, not a JSON object/],
      ['null', /is null, not a JSON object/],
      ['42', /is a number, not a JSON object/],
      ['true', /is a boolean, not a JSON object/],
      ['{"__proto__": {"polluted": true}}', /has a "__proto__" key/],
      ['{"a": 1} {"b": 2}', /is not valid JSON/],
    ])('rejects %j', (value, what) => {
      oneProblem({ 'daemon-config': value }, 'daemon-config', JSON.stringify(value), what);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('survives very deep nesting', () => {
      const deep = '['.repeat(200_000) + ']'.repeat(200_000);
      const problems = problemsOf({ 'daemon-config': deep });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^input "daemon-config": "\[\[\[.*(characters\)) is (an array|not valid JSON)/);
    });
  });

  describe('limits', () => {
    it('rejects more than the maximum number of entries', () => {
      const many = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => `r${i}.test`);
      oneProblem({ 'insecure-registries': many.join(',') }, 'insecure-registries', `(${many.join(',').length} characters)`, new RegExp(`has ${MAX_ENTRIES + 1} entries, more than the limit of ${MAX_ENTRIES}; list fewer registries`));
      oneProblem({ 'registry-mirrors': many.map((h) => `https://${h}`).join('\n') }, 'registry-mirrors', 'https://r0.test', /entries, more than the limit/);
      oneProblem({ 'registry-certs': many.map((h) => `${h}=ca.pem`).join('\n') }, 'registry-certs', 'r0.test=ca.pem', new RegExp(`has more than ${MAX_ENTRIES} entries; list fewer registries`));
      expect(ok({ 'insecure-registries': many.slice(1).join(',') }).insecure).toHaveLength(MAX_ENTRIES);
    });

    it('rejects a line that is too long, and a whole input that is too long, quickly', () => {
      const t0 = performance.now();
      const long = 'x'.repeat(MAX_LINE_CHARS + 1);
      oneProblem({ 'registry-certs': `r.test=${long}` }, 'registry-certs', '(line 1)', new RegExp(`is longer than the limit of ${MAX_LINE_CHARS} characters; put one entry per line`));
      oneProblem({ 'registry-mirrors': `https://m.test\n${long}` }, 'registry-mirrors', '(line 2)', /is longer than the limit/);
      const huge = 'a.test\n'.repeat(MAX_INPUT_CHARS / 7 + 1);
      oneProblem({ 'insecure-registries': huge }, 'insecure-registries', 'characters)', new RegExp(`is longer than the limit of ${MAX_INPUT_CHARS} characters`));
      oneProblem({ 'daemon-config': `{"a":"${'x'.repeat(MAX_INPUT_CHARS)}"}` }, 'daemon-config', 'characters)', /is longer than the limit/);
      expect(performance.now() - t0).toBeLessThan(2000);
    });

    it('shows long values shortened', () => {
      const p = oneProblem({ 'registry-mirrors': `https://${'a'.repeat(300)}.test` }, 'registry-mirrors', '…" (313 characters)', /not a valid host name/);
      expect(p.length).toBeLessThan(400);
    });

    it('rejects NUL characters', () => {
      for (const name of ['registry-mirrors', 'insecure-registries', 'registry-certs', 'daemon-config'] as const) {
        oneProblem({ [name]: 'a\0b' }, name, '"a\\u0000b"', /contains a NUL character; remove it/);
      }
    });
  });

  it('reports every problem of every input together', () => {
    const { settings, problems } = parse({
      'registry-mirrors': 'http://plain.test\nhttps://good.test\nftp://x.test',
      'insecure-registries': '10.0.0.0/40, good-insecure.test',
      'registry-certs': 'nohost\nok.test=ca.pem\nok.test=ca2.pem\nbad.test=../../etc/ca.pem',
      'daemon-config': '[]',
    });
    expect(problems).toHaveLength(7);
    expect(problems.filter((p) => p.startsWith('input "registry-mirrors": '))).toHaveLength(2);
    expect(problems.filter((p) => p.startsWith('input "insecure-registries": '))).toHaveLength(1);
    expect(problems.filter((p) => p.startsWith('input "registry-certs": '))).toHaveLength(3);
    expect(problems.filter((p) => p.startsWith('input "daemon-config": '))).toHaveLength(1);
    // What is valid is still returned (the caller refuses to go on anyway).
    expect(settings.mirrors).toEqual(['https://good.test']);
    expect(settings.insecure).toEqual(['good-insecure.test']);
    expect(settings.certs).toEqual([{ host: 'ok.test', source: { kind: 'file', path: '/work/ws/ca.pem' } }]);
  });

  it('never throws on hostile input, and every problem names its input and says what to do', () => {
    const nasty = ['', ' ', '\n', ',', ',,,', '=', '==', '#', '\u202e', '😀', '../../../../etc/passwd', '/etc/passwd', '$(id)', '`id`', '; rm -rf /', '| cat',
      '&&', '\\', '"', "'", '{', '}', '[', ']', '[]', '{}', 'null', '-----BEGIN', '-----BEGIN CERTIFICATE-----', '-----END CERTIFICATE-----', 'a=-----BEGIN X-----',
      'http://', 'https://[::1', 'https://[::1]:0', '%00', '\u0085', '\u2028', 'a\rb', 'x'.repeat(5000), 'é=é', '[::1]=a', 'a:b:c=d', '__proto__', 'constructor'];
    for (const a of nasty) {
      for (const b of nasty.slice(0, 12)) {
        const raw: RegistryRaw = { 'registry-mirrors': a + b, 'insecure-registries': b + a, 'registry-certs': `${a}\n${b}=${a}`, 'daemon-config': a };
        const { problems } = parseRegistrySettings(raw, { baseDir: BASE });
        for (const p of problems) expect(p).toMatch(/^input "(registry-mirrors|insecure-registries|registry-certs|daemon-config)": .+; \S/s);
      }
    }
  });
});
