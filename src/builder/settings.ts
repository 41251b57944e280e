// The buildx inputs: their type and their parser (inputs.ts composes it with the other capabilities').
import type { Fields } from '../fields.js';
import { showValue } from '../show.js';

/** The image the docker-container driver runs BuildKit from (docker buildx create's own default). */
export const DEFAULT_BUILDX_IMAGE = 'moby/buildkit:buildx-stable-1';

export type BuilderInputName = 'buildx' | 'buildx-image';

export interface BuilderSettings {
  /** The BuildKit image of the docker-container builder. */
  image: string;
}

const IMAGE = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$/;

/** The builder settings; undefined when buildx is false. Problems go to `f.problems`. */
export function parseBuilderSettings(f: Fields<BuilderInputName>): BuilderSettings | undefined {
  const enabled = f.boolean('buildx');
  const image = f.line('buildx-image');
  if (!f.reported('buildx-image') && (!IMAGE.test(image) || image.length > 255)) {
    f.problems.push(`input "buildx-image": ${showValue(image)} is not an image reference; use a name like ${DEFAULT_BUILDX_IMAGE} or registry.example:5000/buildkit:v0.23`);
  }
  if (!enabled) {
    if (!f.reported('buildx-image') && image !== f.defaultOf('buildx-image')) {
      f.problems.push(`input "buildx-image": ${showValue(image)} has no effect while buildx is false; set buildx: true, or remove it`);
    }
    return undefined;
  }
  return { image };
}
