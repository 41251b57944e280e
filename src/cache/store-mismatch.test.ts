import { describe, expect, it } from 'vitest';
import { classicRepositories, storeMismatch } from './store-mismatch.js';

/** A tar of one file, as the engine's archive API gives it. */
function tarOf(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write(`${Buffer.byteLength(content).toString(8).padStart(11, '0')}\0`, 124);
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512);
  body.write(content);
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}

describe('a restored data root of the other image store', () => {
  it("counts the classic store's repositories", () => {
    expect(classicRepositories(tarOf('repositories.json', '{"Repositories":{"busybox":{},"app":{}}}'))).toBe(2);
    expect(classicRepositories(tarOf('repositories.json', '{"Repositories":{}}'))).toBe(0);
    expect(classicRepositories(Buffer.alloc(0))).toBe(0);
    expect(classicRepositories(tarOf('repositories.json', 'not json'))).toBe(0);
  });
  it('warns once when a containerd-store daemon sees none of the restored classic images, naming the remedy', () => {
    expect(storeMismatch({ store: 'containerd', driver: 'overlayfs', classicRepositories: 2, imagesListed: 0 })).toMatch(/holds images of the classic image store \(2 repositories\), but this daemon uses the containerd image store \(overlayfs snapshotter\).*kept as it is\. Remove features\.containerd-snapshotter from daemon-config/);
    expect(storeMismatch({ store: 'containerd', driver: 'overlayfs', classicRepositories: 2, imagesListed: 2 })).toBeUndefined();
    expect(storeMismatch({ store: 'classic', driver: 'overlay2', classicRepositories: 2, imagesListed: 2 })).toBeUndefined();
  });
});
