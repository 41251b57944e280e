// The job daemon's image store, as the image cache needs to know it. On the containerd store (Docker 29's default for
// a fresh data root; features.containerd-snapshotter before) an image pulled for one platform of a multi-platform
// index keeps the index but lacks the other platforms' blobs: a save of the whole image fails ("content digest ...
// not found"), so the images strategy saves the daemon's own platform.
import type { EngineClient } from '../engine/client.js';

/** The platform a save names: the daemon's own on the containerd store; undefined on the classic store. */
export async function savePlatform(daemon: Pick<EngineClient, 'info' | 'version'>): Promise<{ os: string; architecture: string } | undefined> {
  if ((await daemon.info()).imageStore !== 'containerd') return undefined;
  const v = await daemon.version();
  return { os: v.os, architecture: v.arch };
}

/** How main's line and the summary name the store: the snapshotter on the containerd store. */
export const storageName = (info: { storageDriver: string; imageStore: 'classic' | 'containerd' }): string =>
  info.imageStore === 'containerd' ? `${info.storageDriver} snapshotter (containerd image store)` : info.storageDriver;
