// Files that may hold a key: written into a fresh file that is 0600 from the moment it exists (never into an old,
// wider-mode file, never through a symlink), given its final mode, then renamed over the target.
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileNoWindow(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  // O_EXCL: the temporary name is new (a planted file or symlink makes this fail instead of being written through).
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.close();
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw e;
  }
}
