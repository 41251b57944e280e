// Inputs for the dind image's supply: a mirror to pull it through, and explicit credentials for its registry.
import { showValue } from '../show.js';

export type ImageInputName = 'image-mirror' | 'image-username' | 'image-password';

export interface ImageSupplySettings {
  /** A docker.io pull-through mirror (https://host[:port]), tried before registry-mirrors when a pull fails. */
  mirror?: string;
  credentials?: { username: string; password: string };
}

const MIRROR = /^(https?:\/\/)?(?=[^/:]{1,253}(?::|\/|$))[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,5})?\/?$/;

export function parseImageSupply(raw: Record<ImageInputName, string>, mode: string): { settings: ImageSupplySettings; problems: string[] } {
  const problems: string[] = [];
  const mirrorText = raw['image-mirror'].trim();
  const username = raw['image-username'].trim();
  const password = raw['image-password'];
  if (mirrorText && !MIRROR.test(mirrorText)) {
    problems.push(`input "image-mirror": ${showValue(mirrorText)} is not a registry mirror; use its URL or host, like https://mirror.gcr.io or registry.example.com:5000`);
  }
  if (Boolean(username) !== Boolean(password)) {
    problems.push(`input "${username ? 'image-password' : 'image-username'}": ${showValue('')} is empty, but ${username ? 'image-username' : 'image-password'} is set; give both (the password from a secret), or neither`);
  }
  if (mode !== 'dind') {
    for (const [name, value] of [['image-mirror', mirrorText], ['image-username', username], ['image-password', password]] as const) {
      if (value) problems.push(`input "${name}": applies only to mode dind (the image of the daemon the action starts), but mode is ${mode}; remove it or use mode dind`);
    }
  }
  const mirror = mirrorText && !/^https?:\/\//.test(mirrorText) ? `https://${mirrorText}` : mirrorText;
  return { settings: { ...(mirror ? { mirror: mirror.replace(/\/$/, '') } : {}), ...(username && password ? { credentials: { username, password } } : {}) }, problems };
}
