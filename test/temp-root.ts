// vitest globalSetup for every project: all temporary files of a run go under one root, removed at the end, pass or
// fail. scripts/test.sh makes that root itself (TMPDIR, with the list of created users beside it); a direct
// `npx vitest run` gets one here, and workers inherit it through TMPDIR (os.tmpdir() reads it on every call).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): (() => void) | undefined {
  if (process.env.SETUP_DIND_TEST_USERS) return undefined; // scripts/test.sh owns the root
  const root = mkdtempSync(join(tmpdir(), 'sdt.'));
  chmodSync(root, 0o1777); // like /tmp: jobs of non-root users make their own directories in it
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
