import { describe, expect, it } from 'vitest';
import { fieldsOf } from '../fields.js';
import { builderName, cliEnvironment, createArgs } from './buildx.js';
import { DEFAULT_BUILDX_IMAGE, parseBuilderSettings } from './settings.js';

const parse = (raw: Partial<Record<'buildx' | 'buildx-image', string>>) => {
  const f = fieldsOf<'buildx' | 'buildx-image'>((n) => raw[n] ?? { buildx: 'false', 'buildx-image': DEFAULT_BUILDX_IMAGE }[n], { buildx: 'false', 'buildx-image': DEFAULT_BUILDX_IMAGE });
  return { settings: parseBuilderSettings(f), problems: f.problems };
};

describe('parseBuilderSettings', () => {
  it('is off by default, on with the default image or one of yours', () => {
    expect(parse({})).toEqual({ settings: undefined, problems: [] });
    expect(parse({ buildx: 'true' })).toEqual({ settings: { image: DEFAULT_BUILDX_IMAGE }, problems: [] });
    expect(parse({ buildx: 'true', 'buildx-image': 'registry.example:5000/buildkit:v0.23@sha256:' + 'a'.repeat(64) }).settings?.image).toMatch(/^registry\.example:5000\//);
  });
  it('names the input, the value and the remedy', () => {
    expect(parse({ buildx: 'maybe' }).problems[0]).toMatch(/^input "buildx": "maybe" /);
    expect(parse({ buildx: 'true', 'buildx-image': 'not an image' }).problems).toEqual([
      `input "buildx-image": "not an image" is not an image reference; use a name like ${DEFAULT_BUILDX_IMAGE} or registry.example:5000/buildkit:v0.23`,
    ]);
    expect(parse({ 'buildx-image': 'my/buildkit:1' }).problems).toEqual(['input "buildx-image": "my/buildkit:1" has no effect while buildx is false; set buildx: true, or remove it']);
  });
});

describe('the builder', () => {
  it('is named after the session, within buildx\'s characters', () => {
    expect(builderName('12345-1-build')).toBe('setup-dind-12345-1-build');
    expect(builderName('a b/c')).toBe('setup-dind-a-b-c');
  });
  it('is a docker-container builder with the image and the buildkitd.toml, bootstrapped', () => {
    expect(createArgs('b', { image: 'moby/buildkit:v1' }, '/tmp/job/buildkitd.toml')).toEqual([
      'buildx', 'create', '--name', 'b', '--driver', 'docker-container', '--driver-opt', 'image=moby/buildkit:v1', '--buildkitd-config', '/tmp/job/buildkitd.toml', '--bootstrap',
    ]);
    expect(createArgs('b', { image: 'i' }, '')).not.toContain('--buildkitd-config');
  });
  it('the CLI talks to the job daemon: the runner\'s DOCKER_* are replaced, DOCKER_CONFIG (buildx\'s store) is kept', () => {
    const env = cliEnvironment(
      { PATH: '/bin', DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_TLS_VERIFY: '1', DOCKER_CONTEXT: 'x', DOCKER_CONFIG: '/home/r/.docker' },
      { address: { kind: 'unix', path: '/tmp/job/docker.sock' } },
    );
    expect(env).toEqual({ PATH: '/bin', DOCKER_CONFIG: '/home/r/.docker', DOCKER_HOST: 'unix:///tmp/job/docker.sock' });
  });
});
