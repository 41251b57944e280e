// Bad input, table-driven: every input of the action × every kind of bad value, straight through parseInputs. Each
// value is either accepted on purpose (the table says why) or rejected with a problem that names the input, shows
// the value (shortened, never 100 KB of it) and says what to do. And no input ever reaches a shell: the source tree
// spawns processes only with fixed program names and argument arrays.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { INIT_SCRIPT, planDind } from '../../src/daemon/dind-plan.js';
import { resolveEngine } from '../../src/endpoint/endpoint.js';
import { INPUT_DEFAULTS, InputError, type InputName, type Inputs, parseInputs, splitArguments } from '../../src/inputs/inputs.js';
import { checkRegistryEarly } from '../../src/registry/apply.js';
import { generateTls } from '../../src/endpoint/tls.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const WORKSPACE = mkdtempSync(join(tmpdir(), 'sd-bad-inputs-'));
afterAll(() => rmSync(WORKSPACE, { recursive: true, force: true }));

const NAMES = Object.keys(INPUT_DEFAULTS) as InputName[];
const LONG = 100 * 1024;

/** The kinds of bad value every input gets. */
const KINDS = {
  empty: '',
  whitespace: ' \t  ',
  'very long (100 KB)': 'x'.repeat(LONG),
  'unicode (dínd)': 'dínd',
  'unicode (🐳)': '🐳',
  'command substitution': '$(touch /tmp/pwned)',
  backticks: '`touch /tmp/pwned`',
  semicolon: 'a;touch /tmp/pwned',
  '&&': 'a && touch /tmp/pwned',
  newline: 'a\ntouch /tmp/pwned',
  'path traversal': '../../etc/shadow',
  'non-PEM text': 'this is not a PEM certificate',
  'invalid JSON': '{"debug": true,',
  negative: '-5',
  huge: '1e308',
  'unknown enum value': 'sometimes',
} as const;
type Kind = keyof typeof KINDS;

/**
 * Other inputs set so that the input under test is validated on its own merits (not merely "has no effect in this
 * mode"): tls-cert-path with a tcp:// daemon, configure-host in socket mode, the cache inputs with cache: images.
 */
const CONTEXT: Partial<Record<InputName, Record<string, string>>> = {
  'tls-cert-path': { mode: 'external', 'docker-host': 'tcp://docker:2376' },
  'configure-host': { mode: 'socket' },
  'image-username': { 'image-password': 'secret' },
  'image-password': { 'image-username': 'user' },
  'cache-key': { cache: 'images' },
  'cache-restore-keys': { cache: 'images' },
  'cache-images': { cache: 'images' },
  'cache-save': { cache: 'images' },
  'cache-max-size': { cache: 'images' },
  'cache-dir': { cache: 'images' },
  'cache-keep': { cache: 'images' },
  'cache-volumes': { cache: 'data-root' },
  'cache-build-size': { cache: 'data-root' },
  'buildx-image': { buildx: 'true' },
};

const EMPTY_IS_UNSET = 'optional: empty (or blank) means not set';
const EMPTY_IS_FALSE = 'a boolean whose empty value means false, the default';
const ANY_TEXT = (why: string): Partial<Record<Kind, string>> =>
  Object.fromEntries((Object.keys(KINDS) as Kind[]).filter((k) => k !== 'newline').map((k) => [k, why]));

/**
 * What parseInputs accepts on purpose, and why. Everything else must be rejected with a proper problem.
 * Empty is accepted for every optional input; required ones (mode, wait-timeout, image, privileged, cache,
 * cache-save) have no meaning for empty and reject it.
 */
const ACCEPTED: Record<InputName, Partial<Record<Kind, string>>> = {
  mode: {},
  'docker-host': { empty: `${EMPTY_IS_UNSET} (dind: DOCKER_HOST, else the default socket)`, whitespace: EMPTY_IS_UNSET },
  // The directory is checked where it is used (main, after checkout: it may be in the workspace); see below.
  'tls-cert-path': ANY_TEXT('a path, checked where it is used (main, after checkout), naming the input'),
  'wait-timeout': {},
  'set-host': { empty: 'empty means the default, true (export DOCKER_HOST)', whitespace: 'empty means the default, true' },
  image: {
    huge: '"1e308" is a valid image reference (docker.io/library/1e308)',
    'unknown enum value': '"sometimes" is a valid image reference (docker.io/library/sometimes)',
  },
  'image-mirror': {
    empty: EMPTY_IS_UNSET,
    whitespace: EMPTY_IS_UNSET,
    huge: '"1e308" is a valid host name',
    'unknown enum value': '"sometimes" is a valid host name',
  },
  // Sent to the registry as they are; the registry says whether they are right.
  'image-username': { ...ANY_TEXT('a user name, checked by the registry'), empty: undefined, whitespace: undefined, newline: undefined },
  'image-password': { ...ANY_TEXT('a password (masked), checked by the registry'), newline: 'a password may hold any character', empty: undefined },
  privileged: {},
  runtime: { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET, huge: 'a valid runtime name; the engine says if it has it', 'unknown enum value': 'a valid runtime name; the engine says if it has it' },
  tcp: { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  network: { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET, huge: 'a valid network name', 'unknown enum value': 'a valid network name' },
  'daemon-args': {
    empty: EMPTY_IS_UNSET,
    whitespace: EMPTY_IS_UNSET,
    negative: '"-5" starts like a flag; dockerd checks its own flags (its log tail is shown when it refuses them)',
  },
  'default-address-pools': { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET },
  bip: { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET },
  'registry-mirrors': { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET },
  'insecure-registries': { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET, huge: '"1e308" is a valid host name', 'unknown enum value': '"sometimes" is a valid host name' },
  'registry-certs': { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET },
  'daemon-config': { empty: EMPTY_IS_UNSET, whitespace: EMPTY_IS_UNSET },
  'configure-host': { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  'cleanup-stale': { empty: `${EMPTY_IS_UNSET} (never reap)`, whitespace: EMPTY_IS_UNSET },
  cache: {},
  // Keys are opaque text for the cache service; the directory backend encodes them (encodeURIComponent) into a
  // file name, so "../../etc/shadow" stays inside the cache directory.
  'cache-key': { ...ANY_TEXT('an opaque cache key (at most 512 characters, no comma)'), 'very long (100 KB)': undefined, 'invalid JSON': undefined },
  'cache-restore-keys': {
    ...ANY_TEXT('opaque cache key prefixes, one per line'),
    newline: 'one prefix per line',
    'very long (100 KB)': undefined,
    'invalid JSON': undefined,
  },
  'cache-images': {
    empty: `${EMPTY_IS_UNSET} (every image)`,
    whitespace: EMPTY_IS_UNSET,
    'very long (100 KB)': 'a name pattern that matches nothing is not an error (like any other pattern)',
    huge: 'a valid image name',
    'unknown enum value': 'a valid image name',
  },
  'cache-save': {},
  'cache-max-size': { empty: `${EMPTY_IS_UNSET} (no limit)`, whitespace: EMPTY_IS_UNSET },
  // Any directory name is legal; it is created on use, and a cache that cannot be used is a warning, never a failure.
  'cache-dir': { ...ANY_TEXT('a directory, created on use (failures are warnings)'), 'path traversal': undefined },
  'job-paths': { empty: 'a boolean whose empty value means the default, true', whitespace: 'a boolean whose empty value means the default, true' },
  'mount-paths': { empty: `${EMPTY_IS_UNSET} (no extra paths)`, whitespace: EMPTY_IS_UNSET },
  mtu: { empty: `${EMPTY_IS_UNSET} (the daemon container's own MTU)`, whitespace: EMPTY_IS_UNSET },
  proxy: { empty: 'a boolean whose empty value means the default, true', whitespace: 'a boolean whose empty value means the default, true' },
  'forward-ports': { empty: 'a boolean whose empty value means the default, true', whitespace: 'a boolean whose empty value means the default, true' },
  'cache-keep': {},
  'cache-volumes': { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  'cache-build-size': {},
  buildx: { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  client: { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  rootless: { empty: EMPTY_IS_FALSE, whitespace: EMPTY_IS_FALSE },
  'buildx-image': {
    huge: '"1e308" is a valid image reference (docker.io/library/1e308)',
    'unknown enum value': '"sometimes" is a valid image reference (docker.io/library/sometimes)',
  },
  // A secret, read by post only and never shown; a token the API refuses is a notice or a warning there.
  token: { ...ANY_TEXT('a secret (GITHUB_TOKEN by default), read by post only; one the API refuses is a notice there'), newline: 'a token with a newline is not sent (no cache clean-up), never an error' },
  // Read by post only; anything but success/failure/cancelled is "unknown" (the log is then printed if not ready).
  'job-status': ANY_TEXT('set by the runner (${{ job.status }}); anything unexpected counts as unknown'),
  // Set by the runner (${{ toJSON(matrix) }}) and only hashed into the default cache key: any text is a leg's identity.
  matrix: { ...ANY_TEXT('set by the runner (${{ toJSON(matrix) }}); any text only identifies the matrix leg in the default cache key'), newline: 'the runner\'s toJSON spans lines' },
};

/**
 * Known defects: the case runs as it.fails until fixed (then vitest reports it, and the entry goes).
 * See the report for file, line and suggested fix.
 */
// Known defects go here as { input: { kind: 'DEFECT: …' } }: the case then runs as it.fails until fixed.
// (The first run of this suite found 31; all are fixed.)
const DEFECTS: Partial<Record<InputName, Partial<Record<Kind, string>>>> = {};

function parseWith(name: InputName, value: string, extra: Record<string, string> = {}): Inputs {
  const given: Record<string, string> = { ...INPUT_DEFAULTS, 'job-status': 'success', ...CONTEXT[name], ...extra, [name]: value };
  return parseInputs((n) => given[n] ?? '', { workspace: WORKSPACE });
}

function problemsFor(name: InputName, value: string, extra: Record<string, string> = {}): string[] {
  try {
    parseWith(name, value, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).problems;
  }
  throw new Error(`input "${name}": ${JSON.stringify(value.slice(0, 60))} was accepted`);
}

/**
 * A problem shows the value when it quotes a non-empty part of it (as JSON, or as written), or `""` for a value
 * that is blank. registry-certs redacts long base64-like runs on purpose (they may be private keys): "…".
 */
function showsValue(problem: string, name: InputName, value: string): boolean {
  const rest = problem.slice(`input "${name}": `.length);
  const candidates = [value, value.trim(), value.toLowerCase(), value.trim().toLowerCase()];
  if (name === 'daemon-args') {
    // Shown as the words it was split into ('…' and "…" quoting removed).
    try {
      candidates.push(...splitArguments(value));
    } catch {
      // an unclosed quote: no words
    }
  }
  const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
  if (quoted) {
    let shown: string;
    try {
      shown = JSON.parse(`"${quoted[1]}"`) as string;
    } catch {
      shown = quoted[1]!;
    }
    shown = shown.replace(/…$/, '');
    if (shown === '') return value.trim() === '' || (name === 'registry-certs' && quoted[1] === '…');
    return candidates.some((c) => c.includes(shown));
  }
  // A message that puts the value later in the sentence.
  return candidates.some((c) => c.trim() !== '' && problem.includes(JSON.stringify(c.slice(0, 40)).slice(0, -1)));
}

function expectGoodProblems(name: InputName, value: string, problems: string[]): void {
  const mine = problems.filter((p) => p.startsWith(`input "${name}": `));
  expect(mine, `a problem naming input "${name}" among:\n${problems.join('\n')}`).not.toEqual([]);
  // The context is valid: every problem is about the input under test.
  expect(problems.filter((p) => !mine.includes(p))).toEqual([]);
  for (const p of mine) {
    expect(p.length, `shortened, not the whole value: ${p.slice(0, 300)}`).toBeLessThan(1000);
    expect(showsValue(p, name, value), `shows the value: ${p.slice(0, 300)}`).toBe(true);
    expect(p, 'gives a remedy ("; " then what to do)').toMatch(/; \S/);
  }
}

let cases = 0;
describe('every input × every kind of bad value', () => {
  for (const name of NAMES) {
    describe(`input "${name}"`, () => {
      for (const [kind, value] of Object.entries(KINDS) as [Kind, string][]) {
        cases++;
        const accepted = ACCEPTED[name][kind];
        const defect = DEFECTS[name]?.[kind];
        if (accepted) {
          (defect ? it.fails : it)(`${kind}: accepted (${accepted})${defect ? ` [${defect}]` : ''}`, () => {
            expect(() => parseWith(name, value)).not.toThrow();
          });
        } else {
          (defect ? it.fails : it)(`${kind}: rejected, naming the input, showing the value, with a remedy${defect ? ` [${defect}]` : ''}`, () => {
            expectGoodProblems(name, value, problemsFor(name, value));
          });
        }
      }
    });
  }
  it('covers every input of action.yml with every kind', () => {
    expect(cases).toBe(NAMES.length * Object.keys(KINDS).length);
    const actionYml = readFileSync(join(repoRoot, 'action.yml'), 'utf8');
    for (const name of NAMES) expect(actionYml).toContain(`\n  ${name}:\n`);
  });
});

describe('input-specific bad values', () => {
  const table: [InputName, string, Record<string, string>?][] = [
    ['wait-timeout', '0'],
    ['wait-timeout', '-5'],
    ['wait-timeout', '3601'],
    ['wait-timeout', 'Infinity'],
    ['wait-timeout', 'NaN'],
    ['wait-timeout', '9'.repeat(400)],
    ['wait-timeout', '60s'],
    ['cache-max-size', '-5', { cache: 'images' }],
    ['cache-max-size', '0', { cache: 'images' }],
    ['cache-max-size', '9'.repeat(400), { cache: 'images' }],
    ['cache-max-size', '2 gigabytes', { cache: 'images' }],
    ['cleanup-stale', '-1d'],
    ['cleanup-stale', '0s'],
    ['cleanup-stale', '367d'],
    ['cleanup-stale', `${'9'.repeat(400)}d`],
    ['daemon-config', '[]'],
    ['daemon-config', 'null'],
    ['daemon-config', '"debug"'],
    ['daemon-config', '{"__proto__": {"polluted": true}}'],
    ['daemon-config', `{"debug": true, "x": "${'y'.repeat(LONG)}"`],
    ['mode', 'docker'],
    ['privileged', 'maybe'],
    ['cache', 'volumes'],
    ['cache-save', 'sometimes', { cache: 'images' }],
    ['tcp', 'enabled'],
    ['registry-certs', 'registry.example.com=../../etc/shadow'],
    ['registry-certs', 'registry.example.com:5000=certs/../../../etc/shadow'],
    ['registry-certs', `registry.example.com=-----BEGIN CERTIFICATE-----\n${'A'.repeat(LONG)}`],
    ['cache-dir', '../../etc', { cache: 'images' }],
    ['daemon-args', '--data-root=/var/lib/other'],
    ['daemon-args', '-Htcp://0.0.0.0:2375'],
    ['daemon-args', '-G0'],
    ['daemon-args', '-D -Htcp://0.0.0.0:2375'],
    ['daemon-args', '-DH tcp://0.0.0.0:2375'],
    ['daemon-args', "--label='unclosed"],
    ['mtu', '575'],
    ['mtu', '65536'],
    ['mtu', '1400.5'],
    ['mtu', '1400', { 'daemon-args': '--mtu=1300' }],
    ['mtu', '1400', { 'daemon-config': '{"mtu": 1300}' }],
    ['mount-paths', '/'],
    ['mount-paths', '/var/lib/docker/volumes'],
    ['mount-paths', '/srv/../etc'],
    ['proxy', 'false', { mode: 'socket' }],
  ];
  const defects: Record<string, string> = {}; // value -> 'DEFECT: …' while a known defect is open
  for (const [name, value, extra] of table) {
    const defect = defects[value];
    (defect ? it.fails : it)(`${name} = ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}: rejected properly${defect ? ` [${defect}]` : ''}`, () => {
      expectGoodProblems(name, value, problemsFor(name, value, extra));
    });
  }

  it('accepts the sane edges: numbers, sizes and ages at their limits, enums in any case', () => {
    expect(parseWith('wait-timeout', '3600').waitTimeoutMs).toBe(3_600_000);
    expect(parseWith('wait-timeout', ' 0.5 ').waitTimeoutMs).toBe(500);
    expect(parseWith('cache-max-size', '500MiB').cache?.maxBytes).toBe(500 * 1024 ** 2);
    expect(parseWith('cleanup-stale', '366d').cleanupStaleMs).toBe(366 * 86_400_000);
    expect(parseWith('mode', 'DIND').mode).toBe('dind');
    expect(parseWith('privileged', ' False ').dind.privileged).toBe('false');
  });

  it('takes shell metacharacters in daemon-args as literal arguments (no expansion of any kind)', () => {
    const inputs = parseWith('daemon-args', `--label='a=$(touch /tmp/pwned)' --label="b=\`id\`;x" --label=c&&d\n--mtu=1400`);
    expect(inputs.dind.daemonArgs).toEqual(['--label=a=$(touch /tmp/pwned)', '--label=b=`id`;x', '--label=c&&d', '--mtu=1400']);
    // They reach dockerd as separate argv entries after a fixed init script, never inside a shell's text.
    for (const plan of planDind({ inputs, session: 's', labels: {}, hostJobDir: '/tmp/x', socketGroup: 0, withheld: [], configFile: false, certsDir: false })) {
      expect(plan.spec.Entrypoint).toEqual(['sh', '-c', INIT_SCRIPT, 'setup-dind-init']);
      expect(plan.spec.Cmd!.slice(-4)).toEqual(inputs.dind.daemonArgs);
    }
    expect(INIT_SCRIPT).toMatch(/exec "\$@"$/);
  });

  it('registry-certs: an absolute path to a file that is not PEM is reported without its content', async () => {
    const secretFile = join(WORKSPACE, 'shadow');
    writeFileSync(secretFile, 'root:$6$s3cr3thash$abcdefghijklmnopqrstuvwxyz:19000:0:99999:7:::\n');
    const inputs = parseWith('registry-certs', `registry.example.com=${secretFile}`);
    const problems = await checkRegistryEarly(inputs, WORKSPACE);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^input "registry-certs": .* for registry\.example\.com is not PEM .*; give the registry's CA certificate in PEM form$/);
    expect(problems[0]).not.toContain('s3cr3t');
  });

  it('registry-certs: inline non-PEM and broken PEM are reported before anything starts, and never echo the key', async () => {
    const { clientKey } = generateTls({ serverNames: ['registry.example.com'] });
    const keyBody = clientKey.split('\n')[1]!;
    for (const [value, expected] of [
      [`registry.example.com=-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----`, /not valid base64; /],
      [`registry.example.com=${clientKey.trim()}`, /has no certificate; /],
    ] as const) {
      const problems = await checkRegistryEarly(parseWith('registry-certs', value), WORKSPACE);
      expect(problems.join('\n')).toMatch(expected);
      for (const p of problems) {
        expect(p).toMatch(/^input "registry-certs": /);
        expect(p).not.toContain(keyBody);
      }
    }
  });

  it('tls-cert-path: a traversal is accepted by parseInputs and reported where it is used, naming the input', () => {
    const inputs = parseWith('tls-cert-path', '../../etc/shadow');
    // Relative to the working directory (the workspace on a runner): missing, or not a directory with the files.
    expect(() => resolveEngine(inputs, {})).toThrow(/^input "tls-cert-path": (directory )?"\.\.\/\.\.\/etc\/shadow" (does not exist|lacks ca\.pem, cert\.pem, key\.pem)/);
  });
});

describe('no input ever reaches a shell', () => {
  const srcFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return srcFiles(path);
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
    });
  const files = srcFiles(join(repoRoot, 'src')).map((path) => ({ path: relative(repoRoot, path), text: readFileSync(path, 'utf8') }));

  it('greps clean: no exec/execSync, no shell option, no spawn of a template string, no @actions/exec', () => {
    expect(files.length).toBeGreaterThan(20);
    const offending: string[] = [];
    const patterns: [string, RegExp][] = [
      ['exec(', /(?<![\w.$])exec\s*\(/],
      ['execSync(', /\bexecSync\s*\(/],
      ['execFileSync(', /\bexecFileSync\s*\(/],
      ['spawnSync(', /\bspawnSync\s*\(/],
      ['shell: true', /\bshell\s*:\s*true\b/],
      ['a shell option', /\bshell\s*:\s*['"`/]/],
      ['spawn(`…`)', /\b(?:spawn|execFile)\s*\(\s*`/],
      ['spawn(… shell …)', /\b(?:spawn|execFile)\s*\([^)]*\bshell\b/],
      ['spawn("sh"|"bash")', /\b(?:spawn|execFile)\s*\(\s*['"](?:\/bin\/)?(?:ba|da|z)?sh['"]/],
      ['@actions/exec', /from\s+['"]@actions\/exec['"]|require\(\s*['"]@actions\/exec['"]\s*\)/],
      ['require(child_process)', /require\(\s*['"](?:node:)?child_process['"]\s*\)/],
    ];
    for (const { path, text } of files) {
      text.split('\n').forEach((line, i) => {
        for (const [what, re] of patterns) if (re.test(line)) offending.push(`${path}:${i + 1}: ${what}: ${line.trim()}`);
      });
    }
    expect(offending).toEqual([]);
  });

  it('spawns processes only as fixed programs with argument arrays: zstd (cache), cat and zstd into a FIFO (data-root restores), mkfifo (data-root snapshots), the runner GNU tar, ldd and the copy of tar (the snapshot tar), sudo (socket-mode host files), our own node (the port forwarder, the run check pre starts), docker-credential helpers (the dind image pull) and docker (the buildx plugin)', () => {
    const SPAWNERS = new Set(['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']);
    const calls: string[] = [];
    const problems: string[] = [];
    for (const { path, text } of files) {
      const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
      const local = new Map<string, string>(); // local name -> child_process function
      let namespace: string | undefined;
      const arrays = new Set<string>(); // const names bound to array literals
      const visit = (node: ts.Node): void => {
        if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && /^(node:)?child_process$/.test(node.moduleSpecifier.text)) {
          const bindings = node.importClause?.namedBindings;
          if (bindings && ts.isNamespaceImport(bindings)) namespace = bindings.name.text;
          if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) local.set(el.name.text, (el.propertyName ?? el.name).text);
          if (node.importClause?.name) namespace = node.importClause.name.text;
        }
        if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
          if (ts.isArrayLiteralExpression(node.initializer)) arrays.add(node.name.text);
          // const run = promisify(execFile)
          const init = node.initializer;
          if (ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === 'promisify' && init.arguments[0] && ts.isIdentifier(init.arguments[0]) && local.has(init.arguments[0].text)) {
            local.set(node.name.text, local.get(init.arguments[0].text)!);
          }
        }
        if (ts.isCallExpression(node)) {
          const callee = node.expression;
          const fn = ts.isIdentifier(callee)
            ? local.get(callee.text)
            : ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === namespace && SPAWNERS.has(callee.name.text)
              ? callee.name.text
              : undefined;
          if (fn) {
            const where = `${path}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
            const [program, args, options] = node.arguments;
            if (!['spawn', 'execFile'].includes(fn)) problems.push(`${where}: ${fn}() runs a shell or a module`);
            // A docker credential helper, named (a plain name, checked) by the runner's own docker config.
            const helper = path === 'src/image/credentials.ts' && program?.getText() === 'helperProgram(name)';
            // The port forwarder and pre's run check are this action's own bundle under the node that runs it:
            // process.execPath, no input in it.
            const ownNode = program?.getText() === 'process.execPath' && ['src/background/forwarder.ts', 'src/background/run-check.ts'].includes(path);
            // The snapshot's GNU tar: tar or gtar found on the runner's PATH, ldd, and the copy's own loader (gnu-tar.ts
            // passes its TarHost only those; no input names a program).
            const runnerTar = path === 'src/cache/gnu-tar.ts' && program?.getText() === 'tarHostProgram';
            if (helper) calls.push(`${path} docker-credential-<name>`);
            else if (runnerTar) calls.push(`${path} tar, ldd, the copy's loader`);
            else if (ownNode) calls.push(`${path} node`);
            else if (!program || !(ts.isStringLiteral(program) || ts.isNoSubstitutionTemplateLiteral(program))) problems.push(`${where}: the program is not a fixed string: ${program?.getText()}`);
            const isArray = args && (ts.isArrayLiteralExpression(args) || (ts.isIdentifier(args) && arrays.has(args.text)));
            if (!isArray) problems.push(`${where}: the arguments are not an array: ${args?.getText()}`);
            if (options && ts.isObjectLiteralExpression(options) && options.properties.some((p) => p.name?.getText() === 'shell')) problems.push(`${where}: passes shell`);
            if (options && !ts.isObjectLiteralExpression(options)) problems.push(`${where}: options that cannot be checked: ${options.getText()}`);
            if (program && ts.isStringLiteral(program)) calls.push(`${path} ${program.text}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
      if (namespace || local.size) {
        // Every file that imports child_process is one of the known ones.
        expect(['src/cache/zstd.ts', 'src/cache/tar-source.ts', 'src/cache/data-root.ts', 'src/cache/gnu-tar.ts', 'src/image/credentials.ts', 'src/registry/host.ts', 'src/background/forwarder.ts', 'src/background/run-check.ts', 'src/builder/buildx.ts'], `${path} imports child_process`).toContain(path);
      }
    }
    expect(problems).toEqual([]);
    expect([...new Set(calls)].sort()).toEqual(['src/background/forwarder.ts node', 'src/background/run-check.ts node', 'src/builder/buildx.ts docker', 'src/cache/data-root.ts mkfifo', "src/cache/gnu-tar.ts tar, ldd, the copy's loader", 'src/cache/tar-source.ts cat', 'src/cache/tar-source.ts zstd', 'src/cache/zstd.ts zstd', 'src/image/credentials.ts docker-credential-<name>', 'src/registry/host.ts sudo']);
  });
});
