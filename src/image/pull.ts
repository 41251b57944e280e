// Getting the dind image onto the runner's engine: present already, else pulled with the runner's credentials, again
// with backoff while the registry answers 429 (a pull rate limit) or 5xx, then through a mirror, before failing with
// a message that says what happened and what to do.
import type { Logger } from '../platform/platform.js';
import type { FoundAuth, RegistryAuth } from './credentials.js';
import { DOCKER_HUB, parseReference, throughMirror } from './reference.js';

export interface ImageEngine {
  imageExists(ref: string): Promise<boolean>;
  pullImage(ref: string, auth?: RegistryAuth): Promise<void>;
}

export interface SupplyOptions {
  /** Credentials for a registry (the image's or a mirror's), with where they came from. */
  authFor(registry: string): Promise<FoundAuth | undefined>;
  /** docker.io pull-through mirrors to try after the registry itself (image-mirror, then registry-mirrors). */
  mirrors: string[];
  /** Pull attempts per source while the answer is 429 or 5xx. */
  attempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  log: Logger;
}

export type PullFailure = 'rate-limit' | 'server' | 'other';

/** What a failed pull means, from the engine's message (the registry's status and error code end up in it). */
export function classifyPullError(message: string): PullFailure {
  // The engine answers 500 to every failed pull ("(HTTP code 500) server error - "): only the registry's part counts.
  const registry = message.replace(/\(HTTP code \d+\) [a-z ]+ - /gi, '');
  if (/toomanyrequests|too many requests|\b429\b|rate limit/i.test(registry)) return 'rate-limit';
  if (/\b50[0-4] (internal server error|bad gateway|service unavailable|gateway time-?out)|internal server error|bad gateway|service unavailable|gateway time-?out/i.test(registry)) return 'server';
  return 'other';
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One source, retried with exponential backoff while the registry limits or fails; the last error otherwise. */
async function pullWithRetries(engine: ImageEngine, ref: string, auth: FoundAuth | undefined, o: SupplyOptions): Promise<{ error?: Error; kind?: PullFailure }> {
  const attempts = o.attempts ?? 3;
  for (let i = 1; ; i++) {
    try {
      await engine.pullImage(ref, auth?.auth);
      return {};
    } catch (e) {
      const kind = classifyPullError((e as Error).message);
      if (kind === 'other' || i >= attempts) return { error: e as Error, kind };
      const delay = (o.baseDelayMs ?? 2000) * 2 ** (i - 1);
      o.log.warning(`Pulling ${ref}: ${kind === 'rate-limit' ? 'the registry\'s pull rate limit (429 Too Many Requests)' : 'the registry failed (5xx)'}; attempt ${i + 1} of ${attempts} in ${(delay / 1000).toFixed(0)} s.`);
      await (o.sleep ?? realSleep)(delay);
    }
  }
}

function remedy(kind: PullFailure | undefined, ref: string, registry: string, authenticated: boolean): string {
  if (kind === 'rate-limit') {
    return `${registry === DOCKER_HUB ? 'Docker Hub' : registry} refused more pulls: its pull rate limit (429 Too Many Requests), which anonymous pulls from shared runner addresses reach quickly. ` +
      `${authenticated ? '' : 'Log in before this step (docker login) or give image-username and image-password; '}give a mirror (image-mirror or registry-mirrors), ` +
      'or keep the image in a registry of your own (input image).';
  }
  if (kind === 'server') return `the registry failed repeatedly (5xx); try again later, or give a mirror (image-mirror or registry-mirrors).`;
  return `check that ${ref} exists and that this runner may pull it (credentials: docker login before this step, or image-username and image-password).`;
}

/**
 * Makes `ref` available on the engine; returns the reference to run (the original, or the same image through the
 * mirror that had it). Throws a message naming the rate limit, the sources tried and the remedy.
 */
export async function supplyImage(engine: ImageEngine, ref: string, o: SupplyOptions): Promise<string> {
  if (await engine.imageExists(ref)) return ref;
  const parsed = parseReference(ref);
  const auth = await o.authFor(parsed.registry);
  o.log.info(`Pulling ${ref} (not present on the engine)${auth ? ` with credentials from ${auth.source}` : ''}`);
  const first = await pullWithRetries(engine, ref, auth, o);
  if (!first.error) return ref;
  const tried = [`${ref}: ${first.error.message}`];
  const mirrors = parsed.registry === DOCKER_HUB ? o.mirrors : [];
  for (const mirror of mirrors) {
    const viaMirror = throughMirror(parsed, mirror);
    if (await engine.imageExists(viaMirror)) return viaMirror;
    const mirrorAuth = await o.authFor(parseReference(viaMirror).registry);
    const r = await pullWithRetries(engine, viaMirror, mirrorAuth, o);
    if (!r.error) {
      o.log.warning(`Pulled the dind image through the mirror ${mirror} (${viaMirror}): ${ref} could not be pulled (${first.error.message}).`);
      return viaMirror;
    }
    tried.push(`${viaMirror}: ${r.error.message}`);
  }
  throw new Error(`could not pull the dind image: ${tried.join('; ')}. ${remedy(first.kind, ref, parsed.registry, auth !== undefined)}`);
}
