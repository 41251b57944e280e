// dind: the daemon's image on the runner's engine, through image/pull.ts with the runner's credentials (or the
// image-username/image-password inputs), and the mirrors (image-mirror, then registry-mirrors) as the fallback.
import type { EngineClient } from '../engine/client.js';
import { runnerCredentials } from '../image/credentials.js';
import { supplyImage } from '../image/pull.js';
import { authKey, parseReference } from '../image/reference.js';
import type { DaemonInputs as Inputs } from './settings.js';
import type { Platform } from '../platform/platform.js';

/** The reference the container runs: the image itself, or the same image through the mirror that had it. */
export async function supplyDindImage(engine: EngineClient, inputs: Inputs, platform: Platform): Promise<string> {
  const { image } = inputs.dind;
  const explicit = inputs.imageSupply.credentials;
  if (explicit) platform.mask(explicit.password);
  const imageRegistry = parseReference(image).registry;
  return supplyImage(engine, image, {
    mirrors: [...(inputs.imageSupply.mirror ? [inputs.imageSupply.mirror] : []), ...inputs.registry.mirrors],
    authFor: async (registry) => {
      if (explicit && registry === imageRegistry) {
        return { auth: { ...explicit, serveraddress: authKey(registry) }, source: 'inputs image-username and image-password' };
      }
      return runnerCredentials(registry, platform.env);
    },
    log: platform.log,
  });
}
