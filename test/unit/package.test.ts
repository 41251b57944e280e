// The committed bundle must be exactly what the sources build to, and action.yml must declare what the code reads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_DEFAULTS } from '../../src/inputs/inputs.js';

const root = join(import.meta.dirname, '..', '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('dist/', () => {
  it('equals a fresh build of the sources (run `npm run build` and commit dist/ when this fails)', { timeout: 600_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'setup-dind-build-'));
    try {
      execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), out], { cwd: root, stdio: 'pipe' });
      const fresh = filesUnder(out).map((f) => relative(out, f)).sort();
      const committed = filesUnder(join(root, 'dist')).map((f) => relative(join(root, 'dist'), f)).sort();
      expect(committed).toEqual(fresh);
      const stale = fresh.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(root, 'dist', f))));
      expect(stale, `stale files in dist/: ${stale.join(', ')}`).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('action.yml', () => {
  const action = parse(readFileSync(join(root, 'action.yml'), 'utf8'));

  it('declares exactly the inputs the code reads, with the same defaults', () => {
    const declared = Object.fromEntries(Object.entries(action.inputs as Record<string, { default?: string }>).map(([k, v]) => [k, String(v.default ?? '')]));
    expect(declared).toEqual(INPUT_DEFAULTS);
    for (const [name, input] of Object.entries(action.inputs as Record<string, { description?: string }>)) {
      expect(input.description, `input ${name} needs a description`).toBeTruthy();
    }
  });

  it('runs on node24 with pre, main and post bundles that exist', () => {
    expect(action.runs.using).toBe('node24');
    expect(action.runs['post-if']).toBe('always()');
    for (const phase of ['pre', 'main', 'post']) {
      expect(statSync(join(root, action.runs[phase])).isFile()).toBe(true);
    }
  });

  it('declares every output the code sets', () => {
    const set = new Set<string>();
    for (const file of ['src/phases.ts', 'src/daemon/dind.ts', 'src/daemon/dind-attach.ts', 'src/registry/apply.ts', 'src/cache/outputs.ts', 'src/builder/apply.ts']) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/'((?:docker-host|daemon-version|api-version|storage-driver|ready-seconds|container-id|daemon-address|cert-path|buildkitd-config|cache-hit|cache-matched-key|cache-key|buildx-builder))'/g)) set.add(m[1]!);
    }
    expect(Object.keys(action.outputs).sort()).toEqual([...set].sort());
  });
});
