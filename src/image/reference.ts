// Image references as the docker CLI reads them: which registry a reference names (docker.io when the first part is
// no host), the key its credentials are stored under in the docker config, and the same image through a mirror.

export interface ImageReference {
  /** "docker.io", "registry.example:5000", "127.0.0.1:5000". */
  registry: string;
  /** "library/docker", "team/dind". */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';

export function parseReference(ref: string): ImageReference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const isHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = isHost ? first : DOCKER_HUB;
  let repository = isHost ? rest.slice(slash + 1) : rest;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The key of a registry in config.json's auths and credHelpers (Docker Hub's is its legacy v1 URL). */
export const authKey = (registry: string): string => (registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry);

/** The same image through a docker.io pull-through mirror (https://host[:port][/path]), as a reference. */
export function throughMirror(ref: ImageReference, mirror: string): string {
  const host = mirror.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  return `${host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
