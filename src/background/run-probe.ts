// After the daemon answers: can it really run a container? A dockerd that starts is not one that can create
// namespaces, cgroups and networks (too few capabilities, read-only cgroups). The daemon starts empty and no
// registry may be reachable, so the probe loads a one-layer image with no files at all and starts a container whose
// program does not exist: the runtime sets up everything (network, cgroups, namespaces, mounts, the root
// filesystem) before it looks for the program, so "no such file" means the container would have run; any other
// error is what a job's first `docker run` would have met.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/client.js';
import { PROBE_IMAGE } from '../session/session.js';

export { PROBE_IMAGE };
const PROGRAM = '/setup-dind-probe-no-such-program';

/** One ustar entry (a regular file); names here are short ASCII. */
function tarEntry(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'ascii');
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write('00000000000\0', 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding]);
}

const tarOf = (entries: [string, Buffer][]) => Buffer.concat([...entries.map(([n, d]) => tarEntry(n, d)), Buffer.alloc(1024)]);

/** A `docker save` archive of an image with one empty layer, tagged PROBE_IMAGE. */
export function probeImageArchive(arch: string): Buffer {
  const layer = tarOf([]);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({
    architecture: arch, os: 'linux', config: { Cmd: [PROGRAM] }, rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'setup-dind run probe' }],
  }));
  const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: [PROBE_IMAGE], Layers: ['layer/layer.tar'] }]));
  return tarOf([['config.json', config], ['layer/layer.tar', layer], ['manifest.json', manifest]]);
}

/** The runtime's "program not found" answer: everything before exec worked. */
export const reachedExec = (message: string) => message.includes(PROGRAM) && /no such file or directory|not found/i.test(message);

export interface RunProbeResult {
  ok: boolean;
  /** The engine's error when the container could not be run. */
  error?: string;
  ms: number;
}

/** Loads the probe image, creates and starts a container, removes both; never leaves anything behind. */
export async function probeContainerRun(daemon: EngineClient, arch: string): Promise<RunProbeResult> {
  const started = performance.now();
  const name = `setup-dind-probe-${randomBytes(4).toString('hex')}`;
  let id: string | undefined;
  try {
    await daemon.loadImages(Readable.from([probeImageArchive(arch)]));
    id = await daemon.createContainer({ name, Image: PROBE_IMAGE, Labels: {}, HostConfig: {} });
    try {
      await daemon.startContainer(id);
    } catch (e) {
      const message = (e as Error).message;
      return { ok: reachedExec(message), error: reachedExec(message) ? undefined : message, ms: performance.now() - started };
    }
    return { ok: true, ms: performance.now() - started };
  } catch (e) {
    return { ok: false, error: (e as Error).message, ms: performance.now() - started };
  } finally {
    if (id) await daemon.removeContainer(id).catch(() => undefined);
    await daemon.removeImage(PROBE_IMAGE).catch(() => undefined);
  }
}
