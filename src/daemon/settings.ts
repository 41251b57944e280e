// The daemon's own settings (the mode, the dind container), and the slice of the inputs the daemon modes read: the
// settings of the capabilities they wire into the daemon. inputs/inputs.ts parses them and composes them with the rest.
import type { CacheSettings } from '../cache/settings.js';
import type { ImageSupplySettings } from '../image/settings.js';
import type { IntegrationSettings } from '../like-runner/settings.js';
import type { NetworkSettings } from '../network/settings.js';
import type { RegistrySettings } from '../registry/settings.js';

export const MODES = ['dind', 'socket', 'external'] as const;
export type Mode = (typeof MODES)[number];
export const PRIVILEGED = ['auto', 'true', 'false'] as const;
export type Privileged = (typeof PRIVILEGED)[number];

/**
 * The dind image used when none is given: the official image pinned by tag and digest (a tag moves; a digest is the
 * exact image every job gets until the action is updated). Its daemon accepts old clients: daemon/api-version.ts.
 */
export const DEFAULT_DIND_IMAGE = 'docker:29.1.3-dind@sha256:173f284a4299164772a90f52b373e73e087583c0963f1334c9995f190ef6f3f5';
export interface DindSettings {
  image: string;
  privileged: Privileged;
  runtime?: string;
  tcp: boolean;
  network?: string;
  daemonArgs: string[];
  /** A rootless image, run with its own entrypoint and user (input rootless, or an image named *-rootless); implies tcp. */
  rootless: boolean;
}

/** What the daemon modes (dind.ts, existing.ts, image-supply.ts) read of the inputs; inputs/inputs.ts's Inputs has it all. */
export interface DaemonInputs {
  mode: Mode;
  waitTimeoutMs: number;
  dind: DindSettings;
  imageSupply: ImageSupplySettings;
  registry: RegistrySettings;
  network: NetworkSettings;
  cache?: CacheSettings;
  integration: IntegrationSettings;
}
