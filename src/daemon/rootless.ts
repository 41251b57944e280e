// Rootless dind images (docker:dind-rootless and images built like it): dockerd runs as the image's own user under
// rootlesskit, started by the image's own entrypoint, which the action keeps (its init would run dockerd as root).
// The daemon is reached over TCP with per-job TLS: its unix socket belongs to the image's user inside a user
// namespace, where the runner's user cannot connect. rootlesskit forwards the port from its network namespace
// (DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS, which docker's entrypoint honours), and slirp4netns needs /dev/net/tun.
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseReference } from '../image/reference.js';

/** A rootless image by its name: a tag or repository that ends in "rootless" (docker:dind-rootless, docker:29-dind-rootless). */
export function isRootlessImage(image: string): boolean {
  const { tag, repository } = parseReference(image);
  return /(^|-)rootless$/.test(tag ?? '') || /-rootless$/.test(repository);
}

/** Inside the container: the server's TLS files, readable by the image's user. */
export const ROOTLESS_TLS_DIR = '/run/setup-dind-tls';
/** The device rootlesskit's slirp4netns network needs (the privileged strategy has every device anyway). */
export const TUN_DEVICE = '/dev/net/tun';

/**
 * The server's TLS files again, in a directory of their own the image's user can read (the job directory is the
 * runner user's alone, 0700, and stays so: this directory is inside it, so nobody else on the host reaches it).
 */
export async function rootlessTlsDir(jobDir: string): Promise<string> {
  const dir = join(jobDir, 'rootless-tls');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  for (const f of ['ca.pem', 'server-cert.pem', 'server-key.pem']) {
    await copyFile(join(jobDir, 'tls', 'server', f), join(dir, f));
    await chmod(join(dir, f), 0o644);
  }
  return dir;
}

/**
 * What a rootless daemon's log says went wrong, as a remedy; undefined when it says nothing we know. rootlesskit
 * fails before dockerd starts when the host does not let the image's user create its user or network namespace.
 */
export function rootlessRemedy(log: string): string | undefined {
  if (/setting up tap|\/dev\/net\/tun|tuntap/.test(log)) {
    return `rootlesskit could not set up its network: ${TUN_DEVICE} on the engine's host must be usable by the image's user ` +
      '(mode 0666, as most distributions ship it; on this host it is not). Make it so on the host (chmod 0666 /dev/net/tun), or use the root dind image ' +
      '(rootless: false; privileged: false grants only what a nested dockerd needs)';
  }
  if (/newuidmap|newgidmap|uid_map|gid_map|user namespace|unprivileged_userns_clone|max_user_namespaces/i.test(log)) {
    return 'rootlesskit could not create its user namespace: the host must allow user namespaces (user.max_user_namespaces > 0, ' +
      'kernel.unprivileged_userns_clone = 1 where it exists) and the engine must let the container map its subordinate ids ' +
      '(privileged: auto or true; with privileged: false some kernels refuse it). Otherwise use the root dind image (rootless: false)';
  }
  return undefined;
}
