// Bind mounts name paths on the engine's host. When the action itself runs in a container (a GitHub `container:`
// job, GitLab's docker executor) with the host's socket mounted, its own paths differ from the host's: find our
// container on the engine and translate through its mounts.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ContainerState, EngineClient } from '../engine/client.js';

/** Our own container id, as the engine's runtime wrote it into our mount table (hostname, resolv.conf), if any. */
export function ownContainerId(mountinfo: string): string | undefined {
  return /\/(?:docker\/)?containers\/([0-9a-f]{64})\//.exec(mountinfo)?.[1];
}

/** Translates `path` through the container's mounts (longest destination first); undefined when none covers it. */
export function translatePath(path: string, mounts: ContainerState['mounts']): string | undefined {
  const covering = mounts
    .filter((m) => m.type === 'bind' || m.type === 'volume')
    .filter((m) => path === m.destination || path.startsWith(m.destination.endsWith('/') ? m.destination : `${m.destination}/`))
    .sort((a, b) => b.destination.length - a.destination.length)[0];
  if (!covering) return undefined;
  return posix.join(covering.source, posix.relative(covering.destination, path));
}

export interface PathTranslator {
  (path: string): string;
  /** The container the action runs in, when it runs in one on this engine (a container job), and its networks. */
  container?: { name: string; networks: string[] };
}

export async function hostPathTranslator(
  engine: EngineClient,
  env: Readonly<Record<string, string | undefined>>,
  readMountinfo: () => Promise<string> = () => readFile('/proc/self/mountinfo', 'utf8'),
): Promise<PathTranslator> {
  const id = env.SETUP_DIND_CONTAINER_ID || ownContainerId(await readMountinfo().catch(() => ''));
  if (!id) return (path) => path;
  const self = await engine.inspectContainer(id).catch(() => undefined);
  // Our container is not on this engine (say, a remote daemon): the paths are the engine host's already.
  if (!self) return (path) => path;
  const translate: PathTranslator = (path) => {
    const hostPath = translatePath(path, self.mounts);
    if (!hostPath) {
      throw new Error(
        `the action runs in container ${self.name}, and ${path} is not on a volume or bind mount of it, so the dind ` +
          'container cannot share its socket there. Put the job\'s temporary directory on a mounted path (RUNNER_TEMP on GitHub; --state-dir or SETUP_DIND_STATE_DIR for the CLI), or use tcp: true with network.',
      );
    }
    return hostPath;
  };
  translate.container = { name: self.name, networks: self.networks };
  return translate;
}
