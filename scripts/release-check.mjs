// Checks that one version is named everywhere a user reads or installs it, and prints a release's notes.
//   node scripts/release-check.mjs [vX.Y.Z] [--notes]
// Without a tag it checks package.json's version. Exits 1 with every mismatch listed.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (f) => readFileSync(join(root, f), 'utf8');
const args = process.argv.slice(2);
const notesOnly = args.includes('--notes');
const tag = args.find((a) => !a.startsWith('--'));
const version = JSON.parse(read('package.json')).version;
const problems = [];

if (tag !== undefined && tag !== `v${version}`) problems.push(`the tag "${tag}" is not v${version}, the version in package.json: tag v${version}, or change package.json first`);
if (!/^\d+\.\d+\.\d+$/.test(version)) problems.push(`package.json's version "${version}" is not X.Y.Z`);

/** The section of CHANGELOG.md for this version, without its heading. */
function notes() {
  const text = read('CHANGELOG.md');
  const start = text.search(new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm'));
  if (start < 0) return undefined;
  const body = text.slice(text.indexOf('\n', start) + 1);
  const end = body.search(/^## /m);
  return (end < 0 ? body : body.slice(0, end)).trim();
}

const cliVersion = /export const VERSION = '([^']+)'/.exec(read('src/cli.ts'))?.[1];
if (cliVersion !== version) problems.push(`src/cli.ts says VERSION = '${cliVersion}', package.json ${version}`);
if (!notes()) problems.push(`CHANGELOG.md has no section "## [${version}]" with notes`);

// Every pin of the CLI (npx setup-dind@X) and of the action (setup-dind@vX...) names exactly this version.
const pinned = ['README.md', '.github/workflows/docker-tests.yml', ...readdirSync(join(root, 'templates')).map((f) => `templates/${f}`)];
for (const file of pinned) {
  const text = read(file);
  for (const m of text.matchAll(/setup-dind@(v?)([0-9][^\s`'"|)]*)/g)) {
    if (m[2] !== version) problems.push(`${file} pins setup-dind@${m[1]}${m[2]}, not ${m[1]}${version}`);
  }
}
const refDefault = /setup-dind-ref:\n(?:\s+\w+:.*\n)*?\s+default: (\S+)/.exec(read('.github/workflows/docker-tests.yml'))?.[1];
if (refDefault !== `v${version}`) problems.push(`.github/workflows/docker-tests.yml: setup-dind-ref defaults to ${refDefault}, not v${version}`);
for (const f of readdirSync(join(root, 'templates'))) {
  if (!read(`templates/${f}`).includes(`setup-dind@${version}`)) problems.push(`templates/${f} does not default to the CLI setup-dind@${version}`);
}

if (problems.length) {
  console.error(`release check for ${tag ?? `v${version}`} failed:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
if (notesOnly) console.log(notes());
else console.log(`release check: v${version} is named everywhere (package.json, src/cli.ts, CHANGELOG.md, README.md, templates/)`);
