// The rules of docs/architecture.md, checked on the product modules of src/ (tests excluded): no import circle
// between modules, no circle between the folders of src/ (in particular no two folders importing each other),
// nothing under src/registry imports inputs.ts, and no function longer than MAX_FUNCTION_LINES. Type-only imports
// count: they tie modules together just the same. The checks are plain functions, also run on small made-up inputs
// so that they are seen to fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');
/** A function longer than this does several things in a row: split it along them. */
const MAX_FUNCTION_LINES = 80;

type Graph = Map<string, string[]>;

/** Every product module under src/ ("registry/apply.ts") with the src/ modules it imports. */
function importGraph(root: string): Graph {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) files.push(relative(root, path).split('\\').join('/'));
    }
  };
  walk(root);
  const graph: Graph = new Map();
  const specifier = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const targets = new Set<string>();
    for (const m of text.matchAll(specifier)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      if (!files.includes(target)) throw new Error(`${file} imports ${spec}, which is not a module of src/ (${target})`);
      targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

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

/** The graph between the folders of src/ (registry, cache, …); modules directly in src/ belong to no folder. */
function folderGraph(graph: Graph): Graph {
  const folder = (file: string) => (file.includes('/') ? file.split('/')[0]! : undefined);
  const folders: Graph = new Map();
  for (const [file, targets] of graph) {
    const from = folder(file);
    if (!from) continue;
    const edges = new Set(folders.get(from) ?? []);
    for (const t of targets) {
      const to = folder(t);
      if (to && to !== from) edges.add(to);
    }
    folders.set(from, [...edges].sort());
  }
  return folders;
}

/** Modules under `folder` that import `module`, each as "importer -> module". */
function importersOf(graph: Graph, folder: string, module: string): string[] {
  return [...graph].filter(([file, targets]) => file.startsWith(`${folder}/`) && targets.includes(module)).map(([file]) => `${file} -> ${module}`);
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

const g = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

describe('the checks themselves', () => {
  it('find a circle of modules, a self-import and two folders that import each other', () => {
    expect(circles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(circles(g({ 'a.ts': ['a.ts'] }))).toEqual([['a.ts']]);
    expect(circles(g({ 'a.ts': ['b.ts'], 'b.ts': [] }))).toEqual([]);
    const twoFolders = g({ 'cache/cache.ts': ['platform/platform.ts'], 'platform/github.ts': ['cache/backend.ts'], 'cache/backend.ts': [], 'platform/platform.ts': [] });
    expect(circles(twoFolders)).toEqual([]); // no circle of modules…
    expect(circles(folderGraph(twoFolders))).toEqual([['cache', 'platform']]); // …but of folders
    expect(importersOf(g({ 'registry/x.ts': ['inputs.ts'], 'y.ts': ['inputs.ts'] }), 'registry', 'inputs.ts')).toEqual(['registry/x.ts -> inputs.ts']);
  });

  it('find a function that is too long, and count a nested one on its own', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i};`).join('\n');
    const text = `export function big() {\n${body(5)}\n  const inner = () => {\n${body(4)}\n  };\n}\nfunction small() {\n${body(2)}\n}\n`;
    expect(longFunctions('x.ts', text, 6)).toEqual(['x.ts:1 big (13 lines)']);
    expect(longFunctions('x.ts', text, 5)).toEqual(['x.ts:1 big (13 lines)', 'x.ts:7 inner (6 lines)']);
    expect(longFunctions('x.ts', text, 13)).toEqual([]);
  });

  it('read every kind of import, and refuse one that points outside src/', () => {
    const graph = importGraph(SRC);
    expect(graph.get('entrypoints/index.ts')).toEqual(['daemon/ports.ts', 'daemon/run-check.ts', 'phases.ts', 'platform/github.ts']);
    expect(graph.get('registry/apply.ts')).toContain('platform/platform.ts'); // `import type` counts
    expect(graph.size).toBeGreaterThan(30);
  });
});

describe('the dependency rules of src/', () => {
  const graph = importGraph(SRC);

  it('has no import circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('has no two folders that import each other (nor any longer circle of folders)', () => {
    expect(circles(folderGraph(graph))).toEqual([]);
  });

  it('keeps inputs.ts out of src/registry: the registry owns its settings and their parser', () => {
    expect(importersOf(graph, 'registry', 'inputs.ts')).toEqual([]);
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
