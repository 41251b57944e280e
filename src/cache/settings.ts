// The image-cache inputs: their type and their parser (inputs.ts composes it with the other capabilities').
import type { Fields } from '../fields.js';
import { showValue } from '../show.js';

export const MAX_CACHE_KEEP = 100;

/** cache-keep: a number of entries (1 to 100), or `all` (never delete); undefined means all. */
export function parseCacheKeep(f: Fields<'cache-keep'>): number | undefined {
  const text = f.line('cache-keep');
  if (f.reported('cache-keep')) return undefined;
  if (text.toLowerCase() === 'all') return undefined;
  if (/^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_CACHE_KEEP) return Number(text);
  f.problems.push(`input "cache-keep": ${showValue(text)} is not a number of entries; use 1 to ${MAX_CACHE_KEEP} (the newest entries of the key prefix on this ref that stay) or all (delete none)`);
  return undefined;
}

export const CACHE_STRATEGIES = ['false', 'images', 'data-root'] as const;
export const CACHE_SAVE = ['on-success', 'on-change', 'always', 'never'] as const;

export interface CacheSettings {
  strategy: 'images' | 'data-root';
  /** Explicit keys; undefined: derived from the job (cache/cache.ts). */
  key?: string;
  restoreKeys?: string[];
  /** Image name patterns (`*` and `?`); empty: every image present at post. */
  images: string[];
  save: (typeof CACHE_SAVE)[number];
  maxBytes?: number;
  /** A directory backend (GitLab, self-hosted); undefined: the CI system's cache service. */
  dir?: string;
  /** The cache service: how many entries of the key prefix on the ref stay after a save; undefined: all (cache/lifecycle.ts). */
  keep?: number;
  /** data-root: the daemon's volumes go into the snapshot too (else they are left out). */
  volumes?: boolean;
  /** data-root: build cache a snapshot keeps at most (the least recently used beyond it is pruned first); 0 keeps none. */
  buildCacheBytes?: number;
}

export type CacheInputName = 'cache' | 'cache-key' | 'cache-restore-keys' | 'cache-images' | 'cache-save' | 'cache-max-size' | 'cache-dir' | 'cache-keep' | 'cache-volumes' | 'cache-build-size';

/** "500M", "2G", "1.5GiB", "1073741824": bytes, or undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
  if (!m) return undefined;
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

const IMAGE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.:/@*?-]*$|^[*?][a-zA-Z0-9_.:/@*?-]*$/;

/** The cache inputs; undefined when cache is false. Problems go to `f.problems`. */
export function parseCacheSettings(f: Fields<CacheInputName>, mode: string): CacheSettings | undefined {
  const problems = f.problems;
  const strategy = f.oneOf('cache', CACHE_STRATEGIES);
  const save = f.oneOf('cache-save', CACHE_SAVE);
  const key = f.line('cache-key') || undefined;
  const keyProblem = (name: CacheInputName, k: string) => {
    if (k.length > 512) problems.push(`input "${name}": ${showValue(k)} is longer than 512 characters; use a shorter key`);
    if (k.includes(',')) problems.push(`input "${name}": ${showValue(k)} contains a comma, which cache keys cannot; remove it`);
  };
  if (key) keyProblem('cache-key', key);
  const restoreKeys = f.raw('cache-restore-keys').split('\n').map((k) => k.trim()).filter(Boolean);
  for (const k of restoreKeys) keyProblem('cache-restore-keys', k);
  const images = f.raw('cache-images').split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
  for (const pattern of images) {
    if (!IMAGE_PATTERN.test(pattern)) problems.push(`input "cache-images": ${showValue(pattern)} is not an image name or pattern; use names like busybox:1, myorg/* or *:latest`);
  }
  const sizeText = f.line('cache-max-size');
  const maxBytes = sizeText ? parseSize(sizeText) : undefined;
  if (sizeText && maxBytes === undefined) problems.push(`input "cache-max-size": ${showValue(sizeText)} is not a size; use bytes or a number with K, M, G (like 2G or 500MiB)`);
  const dir = f.line('cache-dir') || undefined;
  if (dir?.split(/[\\/]/).includes('..') && !dir.startsWith('/')) problems.push(`input "cache-dir": ${showValue(dir)} leaves the workspace; use a directory inside the project (GitLab caches only those) or an absolute path`);
  const volumes = f.boolean('cache-volumes');
  const buildText = f.line('cache-build-size');
  const buildCacheBytes = /^0+$/.test(buildText) ? 0 : parseSize(buildText);
  if (buildCacheBytes === undefined) problems.push(`input "cache-build-size": ${showValue(buildText)} is not a size; use 0 (keep no build cache), bytes or a number with K, M, G (like 1G or 500MiB)`);
  const buildChanged = buildText !== f.defaultOf('cache-build-size');
  if (buildChanged && strategy === 'images') problems.push(`input "cache-build-size": ${showValue(buildText)} sets the build cache a data-root snapshot keeps, but cache is images (which saves images only); set cache: data-root, or remove it`);
  if (volumes && strategy === 'images') problems.push(`input "cache-volumes": true keeps the daemon's volumes in a data-root snapshot, but cache is images; set cache: data-root, or remove it`);
  if (strategy === 'data-root' && mode !== 'dind') problems.push(`input "cache": "data-root" snapshots the job's own daemon and needs mode dind, but mode is ${mode}; use cache: images`);
  if (strategy === 'false') {
    const unused: [CacheInputName, string][] = [['cache-key', key ?? ''], ['cache-restore-keys', restoreKeys.join(' ')], ['cache-images', images.join(' ')], ['cache-max-size', sizeText], ['cache-dir', dir ?? ''], ['cache-volumes', volumes ? 'true' : ''], ['cache-build-size', buildChanged ? buildText : ''], ['cache-keep', f.line('cache-keep') === f.defaultOf('cache-keep') ? '' : f.line('cache-keep')]];
    for (const [name, value] of unused) if (value) problems.push(`input "${name}": ${showValue(value)} has no effect while cache is false; set cache: images or data-root, or remove it`);
    return undefined;
  }
  const keep = parseCacheKeep(f);
  return { strategy, key, restoreKeys: restoreKeys.length ? restoreKeys : undefined, images, save, maxBytes, dir, keep, ...(volumes ? { volumes } : {}), ...(strategy === 'data-root' ? { buildCacheBytes } : {}) };
}
