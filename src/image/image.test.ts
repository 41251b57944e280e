import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runnerCredentials } from './credentials.js';
import { type ImageEngine, classifyPullError, supplyImage } from './pull.js';
import { authKey, parseReference, throughMirror } from './reference.js';
import { parseImageSupply } from './settings.js';

const quiet = { info: () => undefined, warning: () => undefined, error: () => undefined, debug: () => undefined };

describe('image references', () => {
  it('name the registry as the docker CLI does, and the same image through a mirror', () => {
    expect(parseReference('docker:29.1.3-dind@sha256:abc')).toEqual({ registry: 'docker.io', repository: 'library/docker', tag: '29.1.3-dind', digest: 'sha256:abc' });
    expect(parseReference('team/dind:1')).toEqual({ registry: 'docker.io', repository: 'team/dind', tag: '1' });
    expect(parseReference('registry.example:5000/team/dind')).toEqual({ registry: 'registry.example:5000', repository: 'team/dind' });
    expect(parseReference('localhost/dind:1').registry).toBe('localhost');
    expect(parseReference('index.docker.io/library/docker:29').registry).toBe('docker.io');
    expect(authKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(throughMirror(parseReference('docker:29-dind'), 'https://mirror.gcr.io/')).toBe('mirror.gcr.io/library/docker:29-dind');
  });
});

describe('the runner\'s registry credentials', () => {
  const config = (json: object) => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
    return { DOCKER_CONFIG: dir };
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('come from auths, a credential helper for the registry, or the credential store, as the docker CLI takes them', async () => {
    const env = config({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') }, 'r.example:5000': { identitytoken: 'tok' } } });
    expect((await runnerCredentials('docker.io', env))!.auth).toEqual({ username: 'hub', password: 'pw:with:colons', serveraddress: 'https://index.docker.io/v1/' });
    expect((await runnerCredentials('r.example:5000', env))!.auth).toEqual({ identitytoken: 'tok', serveraddress: 'r.example:5000' });
    expect(await runnerCredentials('other.example', env)).toBeUndefined();
    const asked: string[] = [];
    const helper = async (name: string, server: string) => {
      asked.push(`${name} ${server}`);
      if (name === 'empty') throw new Error('credentials not found in native keychain');
      return JSON.stringify({ Username: name === 'ecr' ? 'AWS' : '<token>', Secret: 's3cret' });
    };
    const helpers = config({ credHelpers: { 'r.example': 'ecr' }, credsStore: 'pass', auths: { 'https://index.docker.io/v1/': {} } });
    const viaHelper = await runnerCredentials('r.example', helpers, helper);
    expect(viaHelper!.auth).toEqual({ username: 'AWS', password: 's3cret', serveraddress: 'r.example' });
    expect(viaHelper!.source).toMatch(/^docker-credential-ecr \(credHelpers in .*config.json\)$/);
    expect((await runnerCredentials('docker.io', helpers, helper))!.auth).toEqual({ identitytoken: 's3cret', serveraddress: 'https://index.docker.io/v1/' });
    expect(asked).toEqual(['ecr r.example', 'pass https://index.docker.io/v1/']);
    expect(await runnerCredentials('docker.io', config({ credsStore: 'empty' }), helper)).toBeUndefined();
    await expect(runnerCredentials('docker.io', config({ credsStore: '../../bin/evil' }), helper)).rejects.toThrow(/is not a helper name; fix credHelpers or credsStore/);
    expect(await runnerCredentials('docker.io', { DOCKER_CONFIG: join(tmpdir(), 'no-such-config-dir') })).toBeUndefined();
  });
});

/** An engine whose pulls answer from a script: each entry is an error message, or '' for success. */
function engine(answers: Record<string, string[]>, present: string[] = []) {
  const pulls: { ref: string; auth?: unknown }[] = [];
  const e: ImageEngine = {
    imageExists: async (ref) => present.includes(ref),
    pullImage: async (ref, auth) => {
      pulls.push({ ref, auth });
      const next = (answers[ref] ?? ['manifest unknown']).shift() ?? '';
      if (next) throw new Error(`pulling ${ref} on unix:///x failed: ${next}`);
      present.push(ref);
    },
  };
  return { e, pulls };
}

describe('supplying the dind image', () => {
  const RATE = 'toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading';
  const options = (over: Partial<Parameters<typeof supplyImage>[2]> = {}) => {
    const slept: number[] = [];
    const warnings: string[] = [];
    return { slept, warnings, o: { authFor: async () => undefined, mirrors: [], sleep: async (ms: number) => void slept.push(ms), log: { ...quiet, warning: (t: string) => void warnings.push(t) }, ...over } };
  };

  it('classifies what the registry answered', () => {
    expect(classifyPullError(RATE)).toBe('rate-limit');
    expect(classifyPullError('received unexpected HTTP status: 429 Too Many Requests')).toBe('rate-limit');
    expect(classifyPullError('received unexpected HTTP status: 503 Service Unavailable')).toBe('server');
    expect(classifyPullError('manifest for x not found: manifest unknown')).toBe('other');
    // The engine's own status for a failed pull is not the registry's.
    expect(classifyPullError('pulling x on unix:///s failed: (HTTP code 500) server error - Head "http://r/v2/x/manifests/1": no basic auth credentials')).toBe('other');
    expect(classifyPullError('(HTTP code 500) server error - toomanyrequests: You have reached your pull rate limit')).toBe('rate-limit');
  });

  it('does not pull an image that is there, and retries with backoff while rate limited', async () => {
    const present = engine({}, ['docker:29-dind']);
    expect(await supplyImage(present.e, 'docker:29-dind', options().o)).toBe('docker:29-dind');
    expect(present.pulls).toEqual([]);
    const limited = engine({ 'docker:29-dind': [RATE, 'received unexpected HTTP status: 502 Bad Gateway', ''] });
    const { o, slept, warnings } = options();
    expect(await supplyImage(limited.e, 'docker:29-dind', o)).toBe('docker:29-dind');
    expect(slept).toEqual([2000, 4000]);
    expect(warnings[0]).toMatch(/pull rate limit \(429 Too Many Requests\); attempt 2 of 3 in 2 s/);
    expect(warnings[1]).toMatch(/the registry failed \(5xx\); attempt 3 of 3/);
  });

  it('falls back to the mirrors, and fails naming the rate limit, what was tried and the remedy', async () => {
    const viaMirror = engine({ 'docker:29-dind': [RATE, RATE, RATE], 'm1.example/library/docker:29-dind': ['connection refused'], 'm2.example:5000/library/docker:29-dind': [''] });
    const { o, warnings } = options({ mirrors: ['https://m1.example', 'http://m2.example:5000'] });
    expect(await supplyImage(viaMirror.e, 'docker:29-dind', o)).toBe('m2.example:5000/library/docker:29-dind');
    expect(warnings.at(-1)).toMatch(/^Pulled the dind image through the mirror http:\/\/m2.example:5000 \(m2.example:5000\/library\/docker:29-dind\)/);
    const none = engine({ 'docker:29-dind': [RATE, RATE, RATE] });
    await expect(supplyImage(none.e, 'docker:29-dind', options({ mirrors: ['https://m1.example'] }).o)).rejects.toThrow(
      /could not pull the dind image: docker:29-dind: .*toomanyrequests.*; m1.example\/library\/docker:29-dind: .*manifest unknown\. Docker Hub refused more pulls: its pull rate limit \(429 Too Many Requests\).*docker login.*image-username.*image-mirror/,
    );
    // Mirrors are docker.io mirrors: an image of another registry is never looked for there.
    const other = engine({ 'r.example/dind:1': ['manifest unknown'] });
    await expect(supplyImage(other.e, 'r.example/dind:1', options({ mirrors: ['https://m1.example'] }).o)).rejects.toThrow(/check that r.example\/dind:1 exists/);
    expect(other.pulls.map((p) => p.ref)).toEqual(['r.example/dind:1']);
  });

  it('pulls with the credentials found for the registry', async () => {
    const { e, pulls } = engine({ 'docker:29-dind': [''] });
    const auth = { username: 'u', password: 'p', serveraddress: 'https://index.docker.io/v1/' };
    await supplyImage(e, 'docker:29-dind', options({ authFor: async (r) => (r === 'docker.io' ? { auth, source: 'test' } : undefined) }).o);
    expect(pulls).toEqual([{ ref: 'docker:29-dind', auth }]);
  });
});

describe('image supply inputs', () => {
  it('take a mirror and both halves of explicit credentials, in mode dind only', () => {
    expect(parseImageSupply({ 'image-mirror': 'mirror.gcr.io', 'image-username': 'u', 'image-password': 'p' }, 'dind')).toEqual({
      settings: { mirror: 'https://mirror.gcr.io', credentials: { username: 'u', password: 'p' } },
      problems: [],
    });
    expect(parseImageSupply({ 'image-mirror': 'http://127.0.0.1:5000/', 'image-username': '', 'image-password': '' }, 'dind').settings).toEqual({ mirror: 'http://127.0.0.1:5000' });
    expect(parseImageSupply({ 'image-mirror': 'ftp://x', 'image-username': 'u', 'image-password': '' }, 'dind').problems).toEqual([
      'input "image-mirror": "ftp://x" is not a registry mirror; use its URL or host, like https://mirror.gcr.io or registry.example.com:5000',
      'input "image-password": "" is empty, but image-username is set; give both (the password from a secret), or neither',
    ]);
    expect(parseImageSupply({ 'image-mirror': 'm.example', 'image-username': '', 'image-password': '' }, 'socket').problems.join()).toMatch(/applies only to mode dind/);
  });
});
