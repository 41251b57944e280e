// The engine client against a fake Engine API: an HTTP server on a unix socket (and one over TLS with client
// certificates), recording what it was asked and answering like dockerd does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateTls, writeTls } from '../endpoint/tls.js';
import { EngineClient, EngineError, demuxLogs, queryString } from './client.js';

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe('demuxLogs', () => {
  it('joins stdout and stderr frames in order', () => {
    expect(demuxLogs(Buffer.concat([frame(1, 'a\n'), frame(2, 'err\n'), frame(1, 'b\n')]))).toBe('a\nerr\nb\n');
  });
  it('passes through a plain (TTY) log', () => {
    expect(demuxLogs(Buffer.from('plain text\n'))).toBe('plain text\n');
  });
});

describe('queryString', () => {
  it('repeats array values, writes booleans as 1/0 and leaves out undefined', () => {
    expect(queryString({ names: ['a:1', 'b'], quiet: true, all: false, skip: undefined, t: 5 })).toBe('?names=a%3A1&names=b&quiet=1&all=0&t=5');
    expect(queryString({})).toBe('');
  });
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let tmp: string;
let server: Server;
let socketPath: string;
let handler: Handler;
const seen: Seen[] = [];

const sendJson = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

function listen(s: Server, path: string): Promise<void> {
  return new Promise((resolve) => s.listen(path, resolve));
}

function record(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    handler(req, body, res);
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'setup-dind-client-'));
  socketPath = join(tmp, 'docker.sock');
  server = createServer(record);
  await listen(server, socketPath);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  seen.length = 0;
});

const client = () => new EngineClient({ address: { kind: 'unix', path: socketPath } });

describe('EngineClient over a unix socket', () => {
  it('uses the endpoint it is given even when DOCKER_HOST and DOCKER_CERT_PATH point elsewhere', async () => {
    const saved = { ...process.env };
    try {
      process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
      process.env.DOCKER_TLS_VERIFY = '1';
      process.env.DOCKER_CERT_PATH = '/nonexistent/certs';
      handler = (_req, _body, res) => sendJson(res, 200, { Version: '27.1.0', ApiVersion: '1.46', Os: 'linux', Arch: 'amd64' });
      expect(await client().version()).toEqual({ version: '27.1.0', apiVersion: '1.46', os: 'linux', arch: 'amd64' });
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /version']);
    } finally {
      process.env = saved;
    }
  });

  it('probes with one call: /info gives the version, the API version (header) and the storage driver', async () => {
    handler = (_req, _body, res) =>
      sendJson(res, 200, { ServerVersion: '20.10.24', OSType: 'linux', Architecture: 'x86_64', Driver: 'overlay2', RegistryConfig: { Mirrors: ['https://m.example/'] }, ID: 'ABCD:EF', KernelVersion: '6.1.0', CgroupDriver: 'systemd' }, { 'Api-Version': '1.41' });
    const ready = await client().probe(1000);
    expect(ready).toEqual({
      version: '20.10.24',
      apiVersion: '1.41',
      os: 'linux',
      arch: 'x86_64',
      info: {
        storageDriver: 'overlay2', imageStore: 'classic', registryMirrors: ['https://m.example/'], cgroupVersion: '', securityOptions: [],
        engine: { id: 'ABCD:EF', serverVersion: '20.10.24', kernelVersion: '6.1.0', operatingSystem: '', cgroupDriver: 'systemd', defaultRuntime: '' },
      },
    });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /info']);
  });

  it('knows the containerd image store by its driver type (the snapshotter is the driver)', async () => {
    handler = (_req, _body, res) => sendJson(res, 200, { ServerVersion: '28.5.2', Driver: 'overlayfs', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] }, { 'Api-Version': '1.51' });
    expect((await client().probe(1000)).info).toMatchObject({ storageDriver: 'overlayfs', imageStore: 'containerd' });
  });

  it('a probe fails when the address answers but is not a Docker daemon', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(404);
      res.end('page not found');
    };
    await expect(client().probe(1000)).rejects.toThrow('/info answered HTTP 404: page not found');
    handler = (_req, _body, res) => sendJson(res, 200, { hello: 'world' });
    await expect(client().probe(1000)).rejects.toThrow('/info answered without a server version');
  });

  it('a probe that gets no answer says so within its timeout', async () => {
    handler = () => undefined; // never answers
    const started = performance.now();
    await expect(client().probe(300)).rejects.toThrow('no answer within 0.3 s (the address accepts connections)');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a missing socket is a connection error with its code', async () => {
    const c = new EngineClient({ address: { kind: 'unix', path: join(tmp, 'absent.sock') } });
    await expect(c.probe(500)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(c.info()).rejects.toThrow(/^reading the daemon info on unix:\/\/.*absent\.sock failed: connect ENOENT/);
  });

  it('turns an error answer into an EngineError with what the engine said and the status', async () => {
    handler = (_req, _body, res) => sendJson(res, 500, { message: 'driver failed programming external connectivity\n' });
    const error = await client().startContainer('0123456789abcdef').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({
      statusCode: 500,
      message: `starting container 0123456789ab on unix://${socketPath} failed: driver failed programming external connectivity`,
    });
  });

  it('status codes that are answers: 404 is "absent", 304 is "already stopped"', async () => {
    handler = (_req, _body, res) => sendJson(res, 404, { message: 'No such container: x' });
    expect(await client().inspectContainer('x')).toBeUndefined();
    expect(await client().imageExists('local/dind:test')).toBe(false);
    await client().removeContainer('x');
    await client().stopContainer('x', 5);
    handler = (_req, _body, res) => {
      res.writeHead(304);
      res.end();
    };
    await client().stopContainer('x', 5);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /containers/x/json',
      'GET /images/local%2Fdind%3Atest/json',
      'DELETE /containers/x?force=1&v=1',
      'POST /containers/x/stop?t=5',
      'POST /containers/x/stop?t=5',
    ]);
    // Any other error status is a failure.
    handler = (_req, _body, res) => sendJson(res, 409, { message: 'volume is in use' });
    await expect(client().removeVolume('v')).rejects.toMatchObject({ statusCode: 409, message: expect.stringContaining('removing volume v on') });
  });

  it('creates a container with the name in the query and the rest of the spec as the body', async () => {
    handler = (_req, _body, res) => sendJson(res, 201, { Id: 'abc123', Warnings: [] });
    const id = await client().createContainer({ name: 'setup-dind-x', Image: 'local/dind:test', Labels: { a: 'b' }, HostConfig: { Privileged: true } });
    expect(id).toBe('abc123');
    expect(seen[0]!.url).toBe('/containers/create?name=setup-dind-x');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ Image: 'local/dind:test', Labels: { a: 'b' }, HostConfig: { Privileged: true } });
  });

  it('inspects a container into its state', async () => {
    handler = (_req, _body, res) =>
      sendJson(res, 200, {
        Id: 'abc',
        Name: '/setup-dind-x',
        RestartCount: 1,
        State: { Running: false, Restarting: false, Status: 'exited', ExitCode: 137, Error: '' },
        NetworkSettings: { Ports: { '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '49153' }], '80/tcp': null }, Networks: { bridge: { IPAddress: '172.17.0.2' }, none: {} } },
        Mounts: [{ Source: '/tmp/x', Destination: '/run/setup-dind', Type: 'bind' }],
      });
    expect(await client().inspectContainer('abc')).toEqual({
      id: 'abc',
      name: 'setup-dind-x',
      running: false,
      restarting: false,
      status: 'exited',
      exitCode: 137,
      restartCount: 1,
      error: '',
      ports: { '2376/tcp': [{ hostIp: '127.0.0.1', hostPort: '49153' }], '80/tcp': [] },
      mounts: [{ source: '/tmp/x', destination: '/run/setup-dind', type: 'bind' }],
      networks: ['bridge', 'none'],
      addresses: { bridge: '172.17.0.2' },
    });
  });

  it('follows container events until the stream ends, and lists the running containers', async () => {
    handler = (req, _body, res) => {
      if (!req.url!.startsWith('/events')) return sendJson(res, 200, [{ Id: 'c1', State: 'running' }]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'c1' } })}\n{"Type":"container","Act`);
      res.end(`ion":"die","Actor":{"ID":"c1"}}\n`);
    };
    const got: { id: string; action: string }[] = [];
    for await (const e of await client().containerEvents(new AbortController().signal)) got.push(e);
    expect(got).toEqual([{ id: 'c1', action: 'start' }, { id: 'c1', action: 'die' }]);
    expect(decodeURIComponent(seen[0]!.url)).toBe('/events?filters={"type":["container"],"event":["start","die","destroy"]}');
    expect(await client().runningContainers()).toEqual(['c1']);
  });

  it('reads the logs of a container, demultiplexed', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
      res.end(Buffer.concat([frame(1, 'starting\n'), frame(2, 'level=error\n')]));
    };
    expect(await client().containerLogs('abc', 7)).toBe('starting\nlevel=error\n');
    expect(seen[0]!.url).toBe('/containers/abc/logs?stdout=1&stderr=1&tail=7&follow=0');
  });

  it('pulls with :latest when the reference has no tag, and fails on an error line in the progress', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200);
      res.end('{"status":"Pulling from library/busybox"}\n{"status":"Done"}\n');
    };
    await client().pullImage('registry:5000/busybox');
    await client().pullImage('busybox:1');
    expect(seen.map((s) => s.url)).toEqual(['/images/create?fromImage=registry%3A5000%2Fbusybox&tag=latest', '/images/create?fromImage=busybox%3A1']);
    handler = (_req, _body, res) => {
      res.writeHead(200);
      res.end('{"status":"Pulling"}\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n');
    };
    await expect(client().pullImage('busybox:nope')).rejects.toThrow('pulling busybox:nope on');
  });

  it('sends registry credentials as X-Registry-Auth (base64url JSON), and none without them', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200);
      res.end('{"status":"Done"}\n');
    };
    const auth = { username: 'u', password: 'p?>~', serveraddress: 'https://index.docker.io/v1/' };
    await client().pullImage('docker:29-dind', auth);
    await client().pullImage('docker:29-dind');
    const [withAuth, without] = seen;
    const header = String(withAuth!.headers['x-registry-auth']);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual(auth);
    // Go's base64.URLEncoding, padded: the length is a multiple of 4 and only URL-safe characters are used.
    expect(header).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
    expect(header.length % 4).toBe(0);
    expect(without!.headers['x-registry-auth']).toBeUndefined();
  });

  it('streams an archive into a container and reads one back', async () => {
    const tar = Buffer.alloc(3 * 1024 * 1024, 7);
    handler = (req, body, res) => {
      if (req.method === 'PUT') {
        res.writeHead(200);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/x-tar' });
        res.end(body.length ? body : tar);
      }
    };
    await client().putArchive('abc', '/var/lib', Readable.from([tar.subarray(0, 1000), tar.subarray(1000)]));
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/containers/abc/archive?path=%2Fvar%2Flib' });
    expect(seen[0]!.headers['content-type']).toBe('application/x-tar');
    expect(seen[0]!.body.equals(tar)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await client().getArchive('abc', '/var/lib/docker')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(tar)).toBe(true);
    expect(seen[1]!.url).toBe('/containers/abc/archive?path=%2Fvar%2Flib%2Fdocker');
  });

  it('a refused archive stops the body and says why', async () => {
    handler = (_req, _body, res) => sendJson(res, 404, { message: 'No such container: gone' });
    const body = Readable.from([Buffer.from('x')]);
    await expect(client().putArchive('gone', '/var/lib', body)).rejects.toThrow('No such container: gone');
    expect(body.destroyed).toBe(true);
  });

  it('loads images from a stream and reports an error line as a failure', async () => {
    handler = (_req, body, res) => {
      res.writeHead(200);
      res.end(body.toString() === 'good' ? '{"stream":"Loaded image: a:1\\n"}\n' : '{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n');
    };
    await client().loadImages(Readable.from([Buffer.from('good')]));
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/images/load?quiet=1' });
    await expect(client().loadImages(Readable.from([Buffer.from('bad')]))).rejects.toThrow(/loading images on .* failed: unexpected EOF/);
  });

  it('exports images by repeating names', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200);
      res.end('TAR');
    };
    const chunks: Buffer[] = [];
    for await (const chunk of await client().exportImages(['a:1', 'sha256:abc'])) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('TAR');
    expect(seen[0]!.url).toBe('/images/get?names=a%3A1&names=sha256%3Aabc');
  });

  it('lists labelled objects with JSON filters, and images without <none> tags', async () => {
    handler = (req, _body, res) => {
      const path = req.url!.split('?')[0];
      if (path === '/containers/json') sendJson(res, 200, [{ Id: 'c1', Names: ['/setup-dind-a'], State: 'running', Labels: { l: 'a' } }]);
      else if (path === '/volumes') sendJson(res, 200, { Volumes: [{ Name: 'setup-dind-a', Labels: null }], Warnings: null });
      else if (path === '/networks') sendJson(res, 200, [{ Id: 'n1', Name: 'net', Labels: { l: 'a' } }]);
      else sendJson(res, 200, [{ Id: 'sha256:1', RepoTags: ['a:1', '<none>:<none>'], Size: 5 }, { Id: 'sha256:2', RepoTags: null, Size: 6 }]);
    };
    expect(await client().listLabelled('l=a')).toEqual({
      containers: [{ id: 'c1', name: 'setup-dind-a', state: 'running', labels: { l: 'a' } }],
      volumes: [{ name: 'setup-dind-a', labels: {} }],
      networks: [{ id: 'n1', name: 'net', labels: { l: 'a' } }],
    });
    const filters = encodeURIComponent(JSON.stringify({ label: ['l=a'] }));
    expect(seen.map((s) => s.url).sort()).toEqual([`/containers/json?all=1&filters=${filters}`, `/networks?filters=${filters}`, `/volumes?filters=${filters}`]);
    expect(await client().listImages()).toEqual([
      { id: 'sha256:1', tags: ['a:1'], size: 5 },
      { id: 'sha256:2', tags: [], size: 6 },
    ]);
    expect(await client().snapshot()).toEqual({ containers: ['c1'], volumes: ['setup-dind-a'], networks: ['n1'] });
  });

  it('network existence compares the exact name (the engine filters by substring)', async () => {
    handler = (_req, _body, res) => sendJson(res, 200, [{ Id: 'n1', Name: 'jobnet-2', Labels: {} }]);
    expect(await client().networkExists('jobnet')).toBe(false);
    handler = (_req, _body, res) => sendJson(res, 200, [{ Id: 'n1', Name: 'jobnet', Labels: {} }]);
    expect(await client().networkExists('jobnet')).toBe(true);
  });
});

describe('EngineClient over TLS', () => {
  let tlsServer: Server;
  let port: number;
  let certDir: string;

  beforeAll(async () => {
    const files = generateTls({ serverNames: ['127.0.0.1', 'localhost'] });
    const paths = await writeTls(join(tmp, 'tls'), files);
    certDir = paths.clientDir;
    tlsServer = createTlsServer({ ca: files.caCert, cert: files.serverCert, key: files.serverKey, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      sendJson(res, 200, { ServerVersion: '27.0.0', OSType: 'linux', Architecture: 'x86_64', Driver: peer.subject?.CN ?? 'no client certificate' }, { 'Api-Version': '1.46' });
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    port = (tlsServer.address() as AddressInfo).port;
  });

  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise((resolve) => tlsServer.close(resolve));
  });

  it('verifies the server with the CA and presents the client certificate', async () => {
    const c = new EngineClient({ address: { kind: 'tcp', host: '127.0.0.1', port }, tlsCertPath: certDir });
    expect(c.description).toBe(`tcp://127.0.0.1:${port}`);
    const ready = await c.probe(2000);
    expect(ready).toMatchObject({ version: '27.0.0', apiVersion: '1.46', info: { storageDriver: 'setup-dind client' } });
    expect((await c.info()).storageDriver).toBe('setup-dind client');
  });

  it('refuses a server its CA did not sign', async () => {
    const other = await writeTls(join(tmp, 'other'), generateTls({ serverNames: ['127.0.0.1'] }));
    const c = new EngineClient({ address: { kind: 'tcp', host: '127.0.0.1', port }, tlsCertPath: other.clientDir });
    await expect(c.info()).rejects.toThrow(/failed: .*(self[- ]signed|unable to verify|certificate)/i);
  });

  it('plain HTTP to a TCP address when no certificates are given', async () => {
    const plain = createServer((_req, res) => sendJson(res, 200, { Version: '1', ApiVersion: '1.41', Os: 'linux', Arch: 'arm64' }));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const c = new EngineClient({ address: { kind: 'tcp', host: '127.0.0.1', port: (plain.address() as AddressInfo).port } });
      expect((await c.version()).arch).toBe('arm64');
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
