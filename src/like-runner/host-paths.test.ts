import { describe, expect, it } from 'vitest';
import { ownContainerId, translatePath } from './host-paths.js';

const id = 'a'.repeat(64);

describe('ownContainerId', () => {
  it('finds the id in the mount table of a docker container', () => {
    const mountinfo = `612 600 0:52 / / rw,relatime - overlay overlay rw\n630 612 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`;
    expect(ownContainerId(mountinfo)).toBe(id);
  });
  it('finds nothing on a plain host', () => {
    expect(ownContainerId('22 1 8:1 / / rw - ext4 /dev/sda1 rw\n')).toBeUndefined();
  });
});

describe('translatePath', () => {
  const mounts = [
    { source: '/home/runner/work', destination: '/__w', type: 'bind' },
    { source: '/home/runner/work/_temp/_github_home', destination: '/github/home', type: 'bind' },
    { source: '/var/lib/docker/volumes/v/_data', destination: '/__w/_temp/cache', type: 'volume' },
    { source: '', destination: '/tmp', type: 'tmpfs' },
  ];
  it('maps through the longest covering mount', () => {
    expect(translatePath('/__w/_temp/setup-dind-x', mounts)).toBe('/home/runner/work/_temp/setup-dind-x');
    expect(translatePath('/__w/_temp/cache/a', mounts)).toBe('/var/lib/docker/volumes/v/_data/a');
    expect(translatePath('/__w', mounts)).toBe('/home/runner/work');
  });
  it('does not match on a mere name prefix, nor through tmpfs', () => {
    expect(translatePath('/__work/x', mounts)).toBeUndefined();
    expect(translatePath('/tmp/x', mounts)).toBeUndefined();
  });
});
