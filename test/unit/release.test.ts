// What a user reads and installs names one version, and the README's tables are action.yml's.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { render, tables } from '../../scripts/readme.mjs';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const scratch = mkdtempSync(join(tmpdir(), 'sd-release-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of what scripts/release-check.mjs reads, to break on purpose. */
function copy(name: string): string {
  const dir = join(scratch, name);
  for (const f of ['package.json', 'CHANGELOG.md', 'README.md', 'src/cli.ts', 'templates', 'scripts/release-check.mjs', '.github/workflows/docker-tests.yml']) {
    cpSync(join(root, f), join(dir, f), { recursive: true });
  }
  return dir;
}

async function check(dir: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(dir, 'scripts', 'release-check.mjs'), ...args]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('README tables', () => {
  it('are generated from action.yml (run `npm run readme` after changing an input or output)', () => {
    const readme = read('README.md');
    expect(render(readme, read('action.yml'))).toBe(readme);
  });

  it('list every input with its default, and every output', () => {
    const t = tables('inputs:\n  a-b:\n    description: one | two <x>\n    default: "1"\n  c:\n    description: |\n      many\n      lines\noutputs:\n  o:\n    description: out\n');
    expect(t.inputs.split('\n').slice(2)).toEqual(['| `a-b` | `1` | one \\| two &lt;x> |', '| `c` |  | many lines |']);
    expect(t.outputs.split('\n').slice(2)).toEqual(['| `o` | out |']);
    expect(() => render('no markers', 'inputs: {}\n')).toThrow(/no <!-- inputs:start -->/);
  });
});

describe('one version everywhere (scripts/release-check.mjs)', () => {
  it('passes for this tree and its own tag, and prints the notes of that version', async () => {
    expect((await check(root)).code).toBe(0);
    const notes = await check(root, `v${version}`, '--notes');
    expect(notes.code).toBe(0);
    expect(notes.out.trim().length).toBeGreaterThan(0);
    expect(read('CHANGELOG.md')).toContain(notes.out.trim());
  });

  it('fails, naming each mismatch: another tag, a stale template pin, a CLI version, a missing changelog entry', async () => {
    expect((await check(root, 'v99.0.0')).out).toMatch(/the tag "v99.0.0" is not v/);
    const dir = copy('broken');
    const template = join(dir, 'templates', 'setup-dind.yml');
    writeFileSync(template, readFileSync(template, 'utf8').replace(`setup-dind@${version}`, 'setup-dind@1'));
    writeFileSync(join(dir, 'src', 'cli.ts'), readFileSync(join(dir, 'src', 'cli.ts'), 'utf8').replace(/VERSION = '[^']+'/, "VERSION = '0.0.9'"));
    writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n');
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('templates/setup-dind.yml pins setup-dind@1, not');
    expect(r.out).toContain("src/cli.ts says VERSION = '0.0.9'");
    expect(r.out).toContain(`CHANGELOG.md has no section "## [${version}]"`);
  });
});
