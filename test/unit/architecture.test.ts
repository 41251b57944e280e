// The rules of docs/architecture.md, checked on the product modules of src/ (tests excluded): no import circle
// between modules, no circle between units (each folder of src/ and each module at its root is one unit), settings
// modules import only leaves, and no function longer than MAX_FUNCTION_LINES; and no file of bench/ longer than
// MAX_BENCH_LINES. Imports are read by the TypeScript
// compiler (ts.preProcessFile), never by a regex over the text; type-only imports count: they tie modules together
// just the same. The checks are plain functions, also run on small made-up inputs so that they are seen to fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');
/** A function longer than this does several things in a row: split it along them. */
const MAX_FUNCTION_LINES = 80;
const BENCH = join(import.meta.dirname, '..', '..', 'bench');
/** A benchmark file longer than this mixes concerns: split what it shares into modules of bench/. */
const MAX_BENCH_LINES = 350;

type Graph = Map<string, string[]>;

/** The product modules under src/ ("registry/apply.ts"), tests and declaration files excluded. */
function productModules(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) files.push(relative(root, path).split('\\').join('/'));
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The relative specifiers one module imports or re-exports, read by the TypeScript compiler's own pre-processor
 * (import, import type, export … from, import(), require): comments and strings are the scanner's business, so a
 * comment that names `@actions/*` cannot hide the import after it.
 */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Every product module under src/ with the src/ modules it imports; `read` gives a module's text. */
function importGraph(files: string[], read: (file: string) => string): Graph {
  const graph: Graph = new Map();
  for (const file of files) {
    const targets = new Set<string>();
    for (const spec of specifiersOf(read(file))) {
      if (!spec.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      if (!files.includes(target)) throw new Error(`${file} imports ${spec}, which is not a module of src/ (${target})`);
      targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

const srcGraph = () => {
  const files = productModules(SRC);
  return importGraph(files, (file) => readFileSync(join(SRC, file), 'utf8'));
};

/** The import circles (strongly connected components with more than one member, or a module importing itself). */
function circles(graph: Graph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

/** The unit a module belongs to: its folder of src/ ("registry"), or the module itself when it sits at the root. */
const unitOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : file);

/** The graph between the units of src/: each folder, and each module at the root, is one unit. */
function unitGraph(graph: Graph): Graph {
  const units: Graph = new Map();
  for (const [file, targets] of graph) {
    const from = unitOf(file);
    const edges = new Set(units.get(from) ?? []);
    for (const t of targets) if (unitOf(t) !== from) edges.add(unitOf(t));
    units.set(from, [...edges].sort());
  }
  return units;
}

/** A settings module: a capability's settings type and parser ("registry/settings.ts"). */
const isSettings = (file: string) => posix.basename(file) === 'settings.ts';

/**
 * Imports of settings modules that are not leaves, as "importer -> module". A settings module parses text into a
 * capability's settings: it may import only the shared leaves (which import nothing but each other) and other
 * settings modules, never a module that does the capability's work (and so pulls in the platform, the engine, …).
 */
function settingsProblems(graph: Graph, leaves: readonly string[]): string[] {
  const problems: string[] = [];
  for (const leaf of leaves) for (const t of graph.get(leaf) ?? []) if (!leaves.includes(t)) problems.push(`${leaf} -> ${t} (a leaf imports only leaves)`);
  for (const [file, targets] of graph) {
    if (!isSettings(file)) continue;
    for (const t of targets) if (!leaves.includes(t) && !isSettings(t)) problems.push(`${file} -> ${t}`);
  }
  return problems;
}

/** Functions (declarations, methods, arrows with a body) longer than `max` lines, as "file:line name (n lines)". */
function longFunctions(file: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const lines = source.getLineAndCharacterOfPosition(node.end).line - first + 1;
      const named = node.name ?? (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) ? node.parent.name : undefined);
      const name = named && ts.isIdentifier(named) ? named.text : '(anonymous)';
      if (lines > max) found.push(`${file}:${first + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The files among `texts` (name -> text) longer than `max` lines, as "name (n lines)". */
function longFiles(texts: Record<string, string>, max: number): string[] {
  return Object.entries(texts)
    .map(([file, text]) => [file, text.split('\n').length - (text.endsWith('\n') ? 1 : 0)] as const)
    .filter(([, lines]) => lines > max)
    .map(([file, lines]) => `${file} (${lines} lines)`);
}

/** The .ts files of bench/ with their text. */
const benchFiles = (): Record<string, string> =>
  Object.fromEntries(readdirSync(BENCH).filter((f) => f.endsWith('.ts')).sort().map((f) => [f, readFileSync(join(BENCH, f), 'utf8')]));

const g = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

/** The shared leaves of src/: small helpers every parser may use. */
const LEAVES = ['show.ts', 'fields.ts', 'daemon-args.ts', 'network/cidr.ts'];

describe('the checks themselves', () => {
  it('find a circle of modules, a self-import and a circle of units (folders and root modules)', () => {
    expect(circles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(circles(g({ 'a.ts': ['a.ts'] }))).toEqual([['a.ts']]);
    expect(circles(g({ 'a.ts': ['b.ts'], 'b.ts': [] }))).toEqual([]);
    const twoFolders = g({ 'cache/cache.ts': ['platform/platform.ts'], 'platform/github.ts': ['cache/backend.ts'], 'cache/backend.ts': [], 'platform/platform.ts': [] });
    expect(circles(twoFolders)).toEqual([]); // no circle of modules…
    expect(circles(unitGraph(twoFolders))).toEqual([['cache', 'platform']]); // …but of folders
    const throughRoot = g({ 'platform/platform.ts': ['inputs.ts'], 'inputs.ts': ['builder/settings.ts'], 'builder/settings.ts': [], 'builder/apply.ts': ['platform/platform.ts'] });
    expect(circles(throughRoot)).toEqual([]); // no circle of modules…
    expect(circles(unitGraph(throughRoot))).toEqual([['builder', 'inputs.ts', 'platform']]); // …but through a root module
  });

  it('find a settings module that imports more than leaves, and a leaf that is not one', () => {
    const graph = g({ 'cache/settings.ts': ['fields.ts', 'cache/lifecycle.ts'], 'cache/lifecycle.ts': [], 'image/settings.ts': ['show.ts'], 'builder/settings.ts': ['image/settings.ts'], 'fields.ts': ['show.ts'], 'show.ts': [] });
    expect(settingsProblems(graph, LEAVES)).toEqual(['cache/settings.ts -> cache/lifecycle.ts']);
    expect(settingsProblems(g({ 'show.ts': ['platform/platform.ts'], 'platform/platform.ts': [] }), LEAVES)).toEqual(['show.ts -> platform/platform.ts (a leaf imports only leaves)']);
  });

  it('find a function that is too long, and count a nested one on its own', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i};`).join('\n');
    const text = `export function big() {\n${body(5)}\n  const inner = () => {\n${body(4)}\n  };\n}\nfunction small() {\n${body(2)}\n}\n`;
    expect(longFunctions('x.ts', text, 6)).toEqual(['x.ts:1 big (13 lines)']);
    expect(longFunctions('x.ts', text, 5)).toEqual(['x.ts:1 big (13 lines)', 'x.ts:7 inner (6 lines)']);
    expect(longFunctions('x.ts', text, 13)).toEqual([]);
  });

  it('find a file that is too long, counting its lines with or without a final newline', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `const x${i} = ${i};`).join('\n');
    expect(longFiles({ 'a.ts': lines(351) + '\n', 'b.ts': lines(350) + '\n', 'c.ts': lines(350) }, 350)).toEqual(['a.ts (351 lines)']);
    expect(longFiles({ 'c.ts': lines(351) }, 350)).toEqual(['c.ts (351 lines)']);
  });

  it('read every kind of import, and one behind a line comment that names @actions/* (no regex over the text)', () => {
    const planted: Record<string, string> = {
      // The line comment's "/*" opens no block comment (a regex that strips /* … */ first would swallow the import up
      // to the doc comment's "*/"): the import counts, and closes a circle.
      'platform/platform.ts': "// Where the job runs; no core module imports @actions/* or knows where it runs.\nimport type { InputName } from '../inputs.js';\n\n/** What the core needs. */\nexport interface Platform {}\n",
      'inputs.ts': "/* a block comment */ import { parse } from './cache/settings.js';\nexport type InputName = string;\n",
      'cache/settings.ts': "export { keep } from './lifecycle.js';\n// import { fake } from './not-a-module.js';\nconst s = \"import x from './not-either.js'\";\n",
      'cache/lifecycle.ts': "const later = () => import('../platform/platform.js');\n",
    };
    const graph = importGraph(Object.keys(planted), (file) => planted[file]!);
    expect(graph.get('platform/platform.ts')).toEqual(['inputs.ts']);
    expect(graph.get('cache/settings.ts')).toEqual(['cache/lifecycle.ts']); // the commented import and the string are not imports
    expect(graph.get('cache/lifecycle.ts')).toEqual(['platform/platform.ts']); // import() counts
    expect(circles(graph)).toEqual([['cache/lifecycle.ts', 'cache/settings.ts', 'inputs.ts', 'platform/platform.ts']]);
    expect(() => importGraph(['a.ts'], () => "import { x } from './b.js';")).toThrow(/a\.ts imports \.\/b\.js, which is not a module of src\//);
  });

  it('read the real tree: `import type` and re-exports count', () => {
    const graph = srcGraph();
    expect(graph.get('entrypoints/index.ts')).toContain('phases.ts');
    expect(graph.get('registry/apply.ts')).toContain('platform/platform.ts'); // `import type` counts
    expect(graph.size).toBeGreaterThan(30);
  });
});

describe('the dependency rules of src/', () => {
  const graph = srcGraph();

  it('has no import circle between modules', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('has no circle between units (each folder of src/ and each module at its root is one unit)', () => {
    expect(circles(unitGraph(graph))).toEqual([]);
  });

  it('keeps settings modules to leaves: a capability parses its settings without pulling in its work', () => {
    expect(settingsProblems(graph, LEAVES.filter((leaf) => graph.has(leaf)))).toEqual([]);
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = [...graph.keys()].flatMap((file) => longFunctions(file, readFileSync(join(SRC, file), 'utf8'), MAX_FUNCTION_LINES));
    expect(long).toEqual([]);
  });

  it('keeps the leaf modules leaves', () => {
    expect(graph.get('show.ts')).toEqual([]);
    expect(graph.get('fields.ts')).toEqual(['show.ts']);
    // registry/ reads daemon-args too, and daemon/ imports registry/: the parser stays a leaf both can use.
    expect(graph.get('daemon-args.ts')).toEqual(['show.ts']);
  });
});

describe('the size rules of bench/', () => {
  it(`has no bench file longer than ${MAX_BENCH_LINES} lines`, () => {
    const files = benchFiles();
    expect(Object.keys(files)).toContain('harness.ts');
    expect(longFiles(files, MAX_BENCH_LINES)).toEqual([]);
  });
});
