// Writes the README's inputs and outputs tables from action.yml, the one source of truth for both.
//   node scripts/readme.mjs           rewrite README.md
//   node scripts/readme.mjs --check   exit 1 when README.md differs from what would be written
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = join(root, 'README.md');

const cell = (text) => String(text ?? '').replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|').replace(/</g, '&lt;');
const code = (text) => (text === '' ? '' : `\`${String(text).replace(/\|/g, '\\|')}\``);

export function tables(actionYml) {
  const action = parse(actionYml);
  const inputs = Object.entries(action.inputs ?? {}).map(([name, def]) => `| \`${name}\` | ${code(def.default ?? '')} | ${cell(def.description)} |`);
  const outputs = Object.entries(action.outputs ?? {}).map(([name, def]) => `| \`${name}\` | ${cell(def.description)} |`);
  return {
    inputs: ['| input | default | meaning |', '|---|---|---|', ...inputs].join('\n'),
    outputs: ['| output | meaning |', '|---|---|', ...outputs].join('\n'),
  };
}

export function render(readme, actionYml) {
  let out = readme;
  for (const [name, table] of Object.entries(tables(actionYml))) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md has no ${start} … ${end} block`);
    out = `${out.slice(0, a + start.length)}\n${table}\n${out.slice(b)}`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync(readmePath, 'utf8');
  const next = render(readme, readFileSync(join(root, 'action.yml'), 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md: the inputs/outputs tables differ from action.yml; run `npm run readme`');
      process.exit(1);
    }
  } else if (next !== readme) {
    writeFileSync(readmePath, next);
    console.log('README.md: tables rewritten from action.yml');
  }
}
