import { describe, expect, it } from 'vitest';
import { savePlatform, storageName } from './image-store.js';

const daemon = (imageStore: 'classic' | 'containerd') => ({
  info: async () => ({ storageDriver: imageStore === 'containerd' ? 'overlayfs' : 'overlay2', imageStore, registryMirrors: [], cgroupVersion: '2', securityOptions: [],
    engine: { id: 'AAAA:BBBB', serverVersion: '28.5.2', kernelVersion: '6.1.0', operatingSystem: 'Debian', cgroupDriver: 'systemd', defaultRuntime: 'runc' } }),
  version: async () => ({ version: '28.5.2', apiVersion: '1.51', os: 'linux', arch: 'arm64' }),
});

describe('the image store', () => {
  it('saves the daemon\'s own platform on the containerd store, everything on the classic one', async () => {
    expect(await savePlatform(daemon('containerd'))).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(await savePlatform(daemon('classic'))).toBeUndefined();
  });
  it('names the snapshotter of the containerd store', () => {
    expect(storageName({ storageDriver: 'overlayfs', imageStore: 'containerd' })).toBe('overlayfs snapshotter (containerd image store)');
    expect(storageName({ storageDriver: 'overlay2', imageStore: 'classic' })).toBe('overlay2');
  });
});
