// Builds one self-contained bundle per entry point into dist/, deterministically: the same sources and lockfile
// give the same bytes (a test compares the committed dist with a fresh build).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ncc from '@vercel/ncc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ? resolve(process.argv[2]) : join(root, 'dist');
const entries = { pre: 'src/entrypoints/pre.ts', main: 'src/entrypoints/main.ts', post: 'src/entrypoints/post.ts', cli: 'src/entrypoints/cli.ts' };

// The bundle is ESM, but bundled CommonJS code (ssh2's WebAssembly loader) still reads __dirname/__filename.
const ESM_BANNER = [
  "import { fileURLToPath as __setupDindFileURLToPath } from 'node:url';",
  "import { dirname as __setupDindDirname } from 'node:path';",
  'const __filename = __setupDindFileURLToPath(import.meta.url);',
  'const __dirname = __setupDindDirname(__filename);',
  '',
].join('\n');

await rm(outDir, { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const { code, assets } = await ncc(join(root, entry), {
    minify: false,
    sourceMap: false,
    quiet: true,
    license: 'licenses.txt',
    cache: false,
  });
  const dir = join(outDir, name);
  await mkdir(dir, { recursive: true });
  // The CLI is run directly (package.json bin): it needs a shebang, as the very first line.
  await writeFile(join(dir, 'index.js'), (name === 'cli' ? '#!/usr/bin/env node\n' : '') + ESM_BANNER + code, { mode: name === 'cli' ? 0o755 : 0o644 });
  for (const [file, asset] of Object.entries(assets ?? {})) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), asset.source);
  }
}
console.log(`built ${Object.keys(entries).join(', ')} into ${outDir}`);
