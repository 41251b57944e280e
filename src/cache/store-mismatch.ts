// A data-root snapshot holds the images of one image store: the classic one (graph driver, image/<driver>/...) or
// the containerd one (containerd's content and snapshotter under containerd/). A daemon that restores it into the
// other store sees none of them: Docker 28 with features.containerd-snapshotter set on a classic snapshot, or one
// without it on a containerd snapshot. (Docker 29 picks the containerd store only for a data root without classic
// images, so it keeps a restored classic root as it is.) The restore is kept; main warns once, naming the remedy.
// Only the classic-into-containerd case is told: a containerd snapshot under a classic daemon has no mark as cheap to
// read that a classic data root without images would not share.
import type { Readable } from 'node:stream';

/** Repositories in the classic store's repositories.json (a tar of that one file, as the archive API gives it). */
export function classicRepositories(tar: Buffer): number {
  if (tar.length < 512) return 0;
  const size = parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0/g, '').trim() || '0', 8);
  try {
    const json = JSON.parse(tar.subarray(512, 512 + size).toString('utf8')) as { Repositories?: Record<string, unknown> };
    return Object.keys(json.Repositories ?? {}).length;
  } catch {
    return 0;
  }
}

export interface RestoredStore {
  /** The store the running daemon uses, and its graph driver (classic) or snapshotter (containerd). */
  store: 'classic' | 'containerd';
  driver: string;
  /** Repositories of the classic store in the restored data root. */
  classicRepositories: number;
  /** Images the daemon lists now. */
  imagesListed: number;
}

/** The warning for a restored data root whose images the daemon's store does not see; undefined when it sees them. */
export function storeMismatch(r: RestoredStore): string | undefined {
  if (r.store === 'containerd' && r.classicRepositories > 0 && r.imagesListed === 0) {
    return `setup-dind cache: the restored data root holds images of the classic image store (${r.classicRepositories} repositories), but this daemon uses the containerd image store (${r.driver} snapshotter), which does not see them; the restore is kept as it is. Remove features.containerd-snapshotter from daemon-config (or daemon-args), or use a new cache-key so the containerd store saves an entry of its own.`;
  }
  return undefined;
}

/** Reads a small stream to its end. */
export async function readSmall(stream: Readable | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
