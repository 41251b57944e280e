import { describe, expect, it } from 'vitest';
import { isRootlessImage, rootlessRemedy } from './rootless.js';

describe('rootless images', () => {
  it('are known by a tag or repository that ends in rootless', () => {
    for (const image of ['docker:dind-rootless', 'docker:29-dind-rootless', 'registry.example:5000/ci/docker:27.5.1-dind-rootless@sha256:' + 'a'.repeat(64), 'team/dind-rootless:1', 'local/dind:rootless']) {
      expect(isRootlessImage(image), image).toBe(true);
    }
    for (const image of ['docker:29-dind', 'docker:dind', 'local/dind:test', 'rootless/dind:1', 'docker:rootlessness']) expect(isRootlessImage(image), image).toBe(false);
  });

  it('failures of rootlesskit become the remedy: the tun device, the user namespace', () => {
    const tap = '[rootlesskit:parent] error: failed to setup network &{...}: setting up tap tap0: executing [[nsenter -t 14 -n -m -U --preserve-credentials ip tuntap add name tap0 mode tap]]: exit status 1';
    expect(rootlessRemedy(tap)).toMatch(/^rootlesskit could not set up its network: \/dev\/net\/tun on the engine's host must be usable by the image's user .*chmod 0666 \/dev\/net\/tun.*rootless: false/);
    const uidmap = '[rootlesskit:parent] error: failed to setup UID/GID map: newuidmap 15 [0 1000 1 1 100000 65536] failed: newuidmap: write to uid_map failed: Operation not permitted';
    expect(rootlessRemedy(uidmap)).toMatch(/^rootlesskit could not create its user namespace: .*user\.max_user_namespaces/);
    expect(rootlessRemedy('time="..." level=info msg="API listen on /run/user/1000/docker.sock"')).toBeUndefined();
  });
});
