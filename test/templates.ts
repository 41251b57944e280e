// The GitLab CI/CD components (templates/) read as GitLab reads them: the spec header and the content, and the
// interpolation of `$[[ inputs.x ]]`. Used by the unit checks (test/unit/gitlab-templates.test.ts) and the e2e ones.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';

export const TEMPLATES = join(import.meta.dirname, '..', 'templates');

export type Spec = { spec: { inputs: Record<string, { default?: unknown; options?: unknown[]; type?: string; description?: string }> } };
export type Job = {
  variables?: Record<string, string>;
  before_script?: string[];
  after_script?: string[];
  script?: string[];
  cache?: { key: string; fallback_keys?: string[]; paths: string[]; policy?: string; when?: string }[];
  services?: { name: string; alias?: string; variables?: Record<string, string>; entrypoint?: string[]; command?: string[] }[];
};

/** A component file: the `spec:` header and the content, two YAML documents separated by `---`. */
export function readTemplate(name: string): { header: Spec; content: Record<string, Job>; text: string } {
  const text = readFileSync(join(TEMPLATES, name), 'utf8');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${name} is empty`);
  expect(docs.length, `${name}: a spec header and the content`).toBe(2);
  const [header, content] = docs;
  expect([...header!.errors, ...content!.errors], `${name}: YAML errors`).toEqual([]);
  return { header: header!.toJS() as Spec, content: content!.toJS() as Record<string, Job>, text };
}

export const INTERPOLATION = /\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g;
export const inputsIn = (text: string) => [...text.matchAll(INTERPOLATION)].map((m) => m[1]!);

/** GitLab's interpolation of `$[[ inputs.x ]]` in the content: the given inputs, defaults for the others. */
export function interpolate<T>(header: Spec, value: T, given: Record<string, string> = {}): T {
  const json = JSON.stringify(value).replace(INTERPOLATION, (_, name: string) => {
    const input = header.spec.inputs[name];
    if (!input) throw new Error(`unknown input ${name}`);
    return JSON.stringify(String(given[name] ?? input.default)).slice(1, -1);
  });
  return JSON.parse(json) as T;
}

