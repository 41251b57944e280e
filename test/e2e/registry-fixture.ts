// A private Docker registry (distribution v2, Debian's /usr/bin/docker-registry) on a docker network of the bed's
// engine, for the registry-mirror and private-CA tests: reachable by a DNS alias (e.g. registry.test:5000) from any
// container on that network, served over plain http, TLS, or mutual TLS with certificates from src/endpoint/tls.ts.
//
// Everything created here carries FIXTURE_LABEL (and RUN_LABEL, one value per test process), is removed by stop(),
// and nothing else on the (shared) engine is ever touched.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTls } from '../../src/endpoint/tls.js';

/** Label key=value on every container and network the fixture (or a test using it) creates. */
export const FIXTURE_LABEL = 'io.github.setup-dind.test=registry';
/** Label key=value unique to this test process: lists exactly what this run created (see leftovers()). */
export const RUN_LABEL = `io.github.setup-dind.test.run=${process.pid}-${randomBytes(3).toString('hex')}`;

/** The image the registry, the catalog client and the throw-away daemons run in (has bash, openssl, dockerd). */
export const FIXTURE_IMAGE = 'local/dind:test';
const REGISTRY_BINARY = '/usr/bin/docker-registry';

export type RegistryTls = 'none' | 'server' | 'mutual';

export interface TestRegistry {
  network: string; // the docker network the registry is on (created by the fixture unless given)
  alias: string; // DNS name on that network, e.g. 'registry.test'
  port: number; // e.g. 5000
  address: string; // `${alias}:${port}`
  url: string; // 'https://registry.test:5000' or 'http://…' for tls 'none'
  tls: RegistryTls;
  dir: string; // host dir with config, certs, storage
  caFile?: string; // host path of the CA PEM that signed the server cert
  caPem?: string;
  clientCertFile?: string; // for 'mutual': a client cert signed by the registry's client CA (not the server CA)
  clientKeyFile?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  containerId: string;
  /** The same registry published on the host's loopback only: 127.0.0.1:<hostPort> (what seedImage pushes to). */
  hostPort: number;
  /** The engine everything lives on (unix:// or tcp:// DOCKER_HOST form). */
  dockerHost: string;
  /**
   * the registry's own log, stdout and stderr in order. Its access log shows every request with paths, e.g.
   * `172.20.0.3 - - [23/Nov/2026:11:56:48 +0000] "HEAD /v2/library/busybox/manifests/1 HTTP/1.1" 200 527 …`: dockerd
   * 20.10 pulls a tag with HEAD …/manifests/<tag>, then GET …/manifests/sha256:… and GET …/blobs/sha256:….
   */
  logs(): Promise<string>;
  /** repository names in the registry (GET /v2/_catalog), checked from a container on the network */
  catalog(): Promise<string[]>;
  stop(): Promise<void>; // removes the container, network (if created by the fixture) and dir
}

export interface StartRegistryOptions {
  alias: string;
  port?: number;
  tls: RegistryTls;
  /** Use this network; created (and removed by stop()) only when it does not exist. */
  network?: string;
  dockerHost?: string;
}

// ---------------------------------------------------------------------------
// docker CLI helpers

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

const labelArgs = () => ['--label', FIXTURE_LABEL, '--label', RUN_LABEL];

function resolveHost(dockerHost?: string): string {
  const host = dockerHost ?? process.env.DOCKER_HOST;
  if (!host) throw new Error('registry fixture: no engine: pass dockerHost or set DOCKER_HOST (bash test/bed/bed.sh start prints it)');
  return host;
}

/** Runs `docker args…` against `host`; resolves with the exit code (never rejects on a non-zero exit). */
export function dockerRun(host: string, args: string[], input?: string | Buffer): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', args, { env: { ...process.env, DOCKER_HOST: host }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
      if (error && code === -1) reject(error);
      else resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Like dockerRun, but rejects with the command and its stderr unless it exits 0; resolves with stdout. */
export async function dockerOk(host: string, args: string[], input?: string | Buffer): Promise<string> {
  const r = await dockerRun(host, args, input);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** `docker <from…> | docker <to…>`, both on `host`, streamed (e.g. save | exec -i … docker load); resolves with the second's stdout. */
async function dockerPipe(host: string, from: string[], to: string[]): Promise<string> {
  const env = { ...process.env, DOCKER_HOST: host };
  const a = spawn('docker', from, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const b = spawn('docker', to, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  b.stdin.on('error', () => undefined); // EPIPE when the reader dies first: reported through its exit code
  a.stdout.pipe(b.stdin);
  let stderr = '', stdout = '';
  a.stderr.on('data', (d: Buffer) => (stderr += d));
  b.stderr.on('data', (d: Buffer) => (stderr += d));
  b.stdout.on('data', (d: Buffer) => (stdout += d));
  const exit = (p: ReturnType<typeof spawn>) => new Promise<number | null>((resolve, reject) => { p.on('error', reject); p.on('close', resolve); });
  const codes = await Promise.all([exit(a), exit(b)]);
  if (codes[0] !== 0 || codes[1] !== 0) throw new Error(`docker ${from.join(' ')} | docker ${to.join(' ')} failed (exit ${codes.join('/')}): ${stderr.trim()}`);
  return stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const suffix = () => randomBytes(4).toString('hex');

async function containerRunning(host: string, id: string): Promise<boolean> {
  const r = await dockerRun(host, ['inspect', '-f', '{{.State.Running}}', id]);
  return r.code === 0 && r.stdout.trim() === 'true';
}

/** Container log, stdout and stderr as one text (each in its own order; the fixture's containers merge them at the source). */
async function containerLogs(host: string, id: string): Promise<string> {
  const r = await dockerRun(host, ['logs', id]);
  return r.stdout + r.stderr;
}

// ---------------------------------------------------------------------------
// The registry

const ALIAS = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function registryConfig(port: number, tls: RegistryTls): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: false', // Apache combined lines on stdout: `<ip> - - [date] "GET /v2/… HTTP/1.1" 200 …`
    'storage:',
    '  filesystem:',
    '    rootdirectory: /var/lib/registry',
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: :${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`, // else a warning and a random one per process
  ];
  if (tls !== 'none') {
    lines.push('  tls:', '    certificate: /etc/registry/server.crt', '    key: /etc/registry/server.key');
    if (tls === 'mutual') lines.push('    clientcas:', '      - /etc/registry/client-ca.crt');
  }
  return `${lines.join('\n')}\n`;
}

async function put(path: string, content: string, mode: number): Promise<void> {
  await writeFile(path, content, { mode });
  await chmod(path, mode);
}

/** GET https?://127.0.0.1:<hostPort><path> from the host, verifying the server as `alias` (and presenting the client cert). */
function hostGet(reg: Pick<TestRegistry, 'tls' | 'alias' | 'address' | 'caPem' | 'clientCertPem' | 'clientKeyPem'>, hostPort: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port: hostPort, path, method: 'GET', headers: { host: reg.address }, timeout: 5000 };
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req =
      reg.tls === 'none'
        ? httpRequest(options, onResponse)
        : request({ ...options, servername: reg.alias, ca: reg.caPem, cert: reg.clientCertPem, key: reg.clientKeyPem, agent: false }, onResponse);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function startRegistry(opts: StartRegistryOptions): Promise<TestRegistry> {
  const host = resolveHost(opts.dockerHost);
  const { alias, tls } = opts;
  const port = opts.port ?? 5000;
  if (!ALIAS.test(alias)) throw new Error(`registry alias ${JSON.stringify(alias)} is not a lower-case DNS name`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`registry port ${port} is out of range`);
  if (!['none', 'server', 'mutual'].includes(tls)) throw new Error(`registry tls ${JSON.stringify(tls)} is not none, server or mutual`);

  const dir = await mkdtemp(join(tmpdir(), 'setup-dind-registry-'));
  const network = opts.network ?? `setup-dind-test-registry-${suffix()}`;
  let createdNetwork = false;
  let containerId = '';
  const cleanup = async (): Promise<string[]> => {
    const problems: string[] = [];
    if (containerId) {
      const r = await dockerRun(host, ['rm', '-f', '-v', containerId]);
      if (r.code !== 0 && !/No such container/i.test(r.stderr)) problems.push(`removing registry container ${containerId}: ${r.stderr.trim()}`);
    }
    if (createdNetwork) {
      // Another container of the test may still be detaching: a few tries, then report what is still attached.
      for (let i = 0; ; i++) {
        const r = await dockerRun(host, ['network', 'rm', network]);
        if (r.code === 0 || /not found|No such network/i.test(r.stderr)) break;
        if (i >= 20) {
          const attached = await dockerRun(host, ['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', network]);
          problems.push(`removing network ${network}: ${r.stderr.trim()} (still attached: ${attached.stdout.trim() || '?'})`);
          break;
        }
        await sleep(250);
      }
    }
    await rm(dir, { recursive: true, force: true }).catch((e: Error) => problems.push(`removing ${dir}: ${e.message}`));
    return problems;
  };

  try {
    // Files: <dir>/etc -> /etc/registry (read-only), <dir>/storage -> /var/lib/registry; CA and client files in <dir>.
    const etc = join(dir, 'etc');
    const storage = join(dir, 'storage');
    await mkdir(etc, { mode: 0o700 });
    await mkdir(storage, { mode: 0o755 });
    const reg: Omit<TestRegistry, 'containerId' | 'hostPort' | 'logs' | 'catalog' | 'stop'> = {
      network, alias, port, address: `${alias}:${port}`, url: `${tls === 'none' ? 'http' : 'https'}://${alias}:${port}`, tls, dir, dockerHost: host,
    };
    if (tls !== 'none') {
      const server = generateTls({ serverNames: [alias, 'localhost', '127.0.0.1'], commonName: `setup-dind test registry CA (${alias})` });
      await put(join(etc, 'server.crt'), server.serverCert, 0o644);
      await put(join(etc, 'server.key'), server.serverKey, 0o600);
      reg.caFile = join(dir, 'ca.crt');
      reg.caPem = server.caCert;
      await put(reg.caFile, server.caCert, 0o644);
      if (tls === 'mutual') {
        // A CA of its own for clients: a daemon that mixed up ca.crt and the client CA would fail here.
        const client = generateTls({ serverNames: ['localhost'], commonName: `setup-dind test registry client CA (${alias})` });
        await put(join(etc, 'client-ca.crt'), client.caCert, 0o644);
        reg.clientCertFile = join(dir, 'client.cert');
        reg.clientKeyFile = join(dir, 'client.key');
        reg.clientCertPem = client.clientCert;
        reg.clientKeyPem = client.clientKey;
        await put(reg.clientCertFile, client.clientCert, 0o644);
        await put(reg.clientKeyFile, client.clientKey, 0o600);
      }
    }
    await put(join(etc, 'config.yml'), registryConfig(port, tls), 0o644);

    if (opts.network) {
      const exists = await dockerRun(host, ['network', 'inspect', network]);
      if (exists.code !== 0) {
        await dockerOk(host, ['network', 'create', ...labelArgs(), network]);
        createdNetwork = true;
      }
    } else {
      await dockerOk(host, ['network', 'create', ...labelArgs(), network]);
      createdNetwork = true;
    }

    containerId = (
      await dockerOk(host, [
        'run', '-d', ...labelArgs(),
        '--name', `setup-dind-test-registry-${suffix()}`,
        '--network', network, '--network-alias', alias,
        '-p', `127.0.0.1::${port}`, // loopback only: seedImage pushes here, the host checks readiness here
        '--mount', `type=bind,source=${REGISTRY_BINARY},target=${REGISTRY_BINARY},readonly`,
        '--mount', `type=bind,source=${etc},target=/etc/registry,readonly`,
        '--mount', `type=bind,source=${storage},target=/var/lib/registry`,
        '--entrypoint', 'sh',
        FIXTURE_IMAGE,
        // stderr (logrus) and stdout (access log) as one stream, in order, for logs().
        '-c', 'exec docker-registry serve /etc/registry/config.yml 2>&1',
      ])
    ).trim();

    const published = await dockerOk(host, ['port', containerId, `${port}/tcp`]);
    const hostPort = Number(/127\.0\.0\.1:(\d+)/.exec(published)?.[1]);
    if (!hostPort) throw new Error(`registry port ${port} is not published on 127.0.0.1: ${published.trim()}`);

    // Ready when /v2/ answers on the published port, with the certificate verified for the alias.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await hostGet(reg, hostPort, '/v2/').catch((e: Error) => ({ status: 0, body: e.message }));
      if (answer.status === 200) break;
      if (!(await containerRunning(host, containerId)))
        throw new Error(`the registry exited before answering; its log:\n${await containerLogs(host, containerId)}`);
      if (Date.now() > deadline)
        throw new Error(`the registry did not answer on 127.0.0.1:${hostPort} in 30 s (last: ${answer.status} ${answer.body}); its log:\n${await containerLogs(host, containerId)}`);
      await sleep(100);
    }

    let stopped = false;
    const registry: TestRegistry = {
      ...reg,
      containerId,
      hostPort,
      logs: () => containerLogs(host, containerId),
      catalog: async () => {
        // Pages of at most 100 (the registry's maximum), following the Link: <…>; rel="next" header.
        const names: string[] = [];
        for (let path: string | undefined = '/v2/_catalog?n=100'; path; ) {
          const { status, headers, body } = await getFromNetwork(registry, path);
          if (status !== 200) throw new Error(`GET ${path} from the network answered ${status}: ${body}`);
          names.push(...((JSON.parse(body) as { repositories?: string[] }).repositories ?? []));
          path = /^link:\s*<([^>]+)>;\s*rel="?next"?/im.exec(headers)?.[1];
        }
        return names;
      },
      stop: async () => {
        if (stopped) return;
        const problems = await cleanup(); // idempotent: a failed stop() may be called again
        if (problems.length) throw new Error(`registry fixture cleanup: ${problems.join('; ')}`);
        stopped = true;
      },
    };
    return registry;
  } catch (e) {
    const problems = await cleanup();
    if (problems.length) (e as Error).message += ` (and cleanup: ${problems.join('; ')})`;
    throw e;
  }
}

/**
 * GET `path` from the registry as a container on its network sees it: by alias, the server certificate verified
 * against the CA for that name (openssl s_client), the client certificate presented for 'mutual'.
 */
export async function getFromNetwork(registry: TestRegistry, path: string): Promise<{ status: number; headers: string; body: string }> {
  const script =
    registry.tls === 'none'
      ? 'exec 3<>"/dev/tcp/$ALIAS/$PORT" && printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$URLPATH" "$ALIAS:$PORT" >&3 && cat <&3'
      : 'set -o pipefail; printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$URLPATH" "$ALIAS:$PORT" | ' +
        'openssl s_client -quiet -connect "$ALIAS:$PORT" -servername "$ALIAS" -verify_hostname "$ALIAS" -verify_return_error -CAfile /certs/ca.crt ' +
        '$( [ -f /certs/client.cert ] && echo "-cert /certs/client.cert -key /certs/client.key" ) 2>/tmp/err || { cat /tmp/err >&2; exit 1; }';
  const mounts: string[] = [];
  if (registry.caFile) mounts.push('--mount', `type=bind,source=${registry.caFile},target=/certs/ca.crt,readonly`);
  if (registry.clientCertFile && registry.clientKeyFile) {
    mounts.push('--mount', `type=bind,source=${registry.clientCertFile},target=/certs/client.cert,readonly`);
    mounts.push('--mount', `type=bind,source=${registry.clientKeyFile},target=/certs/client.key,readonly`);
  }
  const r = await dockerRun(registry.dockerHost, [
    'run', '--rm', ...labelArgs(), '--network', registry.network, ...mounts,
    '-e', `ALIAS=${registry.alias}`, '-e', `PORT=${registry.port}`, '-e', `URLPATH=${path}`,
    '--entrypoint', 'bash', FIXTURE_IMAGE, '-c', script,
  ]);
  const m = /^HTTP\/1\.[01] (\d{3})[^\n]*\n([\s\S]*?)\r?\n\r?\n([\s\S]*)$/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`GET ${registry.url}${path} from network ${registry.network} failed (exit ${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
  return { status: Number(m[1]), headers: m[2]!, body: m[3]! };
}

// ---------------------------------------------------------------------------
// Throw-away daemons on the network (seeding for 'mutual'; pull checks in tests)

export interface TestDaemon {
  containerId: string;
  /** The container's IPv4 address on the network: the remote address in the registry's access log. */
  ip: string;
  /** `docker args…` inside the daemon's container, against that daemon. */
  docker(args: string[], input?: string | Buffer): Promise<DockerResult>;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartDaemonOptions {
  network: string;
  /** Host directory mounted (read-only) as /etc/docker/certs.d: dockerd reads it at every pull, so tests may change it. */
  certsDir?: string;
  /** Extra dockerd arguments, e.g. ['--insecure-registry', 'registry.test:5000'] or ['--registry-mirror', 'https://…']. */
  args?: string[];
  dockerHost?: string;
}

/**
 * A dockerd in local/dind:test on `network`, without --privileged (this host refuses it): all capabilities but
 * SYS_RESOURCE, unconfined seccomp/AppArmor/system paths, the host's cgroups, and its data on a tmpfs (no volume).
 */
export async function startDaemon(opts: StartDaemonOptions): Promise<TestDaemon> {
  const host = resolveHost(opts.dockerHost);
  const mounts = opts.certsDir ? ['--mount', `type=bind,source=${opts.certsDir},target=/etc/docker/certs.d,readonly`] : [];
  const id = (
    await dockerOk(host, [
      'run', '-d', ...labelArgs(), '--name', `setup-dind-test-daemon-${suffix()}`, '--network', opts.network,
      '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
      '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
      '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--mount', 'type=tmpfs,destination=/var/lib/docker',
      ...mounts,
      FIXTURE_IMAGE, 'dockerd', ...(opts.args ?? []),
    ])
  ).trim();
  const daemon: TestDaemon = {
    containerId: id,
    ip: '',
    docker: (args, input) => dockerRun(host, ['exec', ...(input === undefined ? [] : ['-i']), id, 'docker', ...args], input),
    logs: () => containerLogs(host, id),
    stop: async () => {
      const r = await dockerRun(host, ['rm', '-f', '-v', id]);
      if (r.code !== 0 && !/No such container/i.test(r.stderr)) throw new Error(`removing daemon container ${id}: ${r.stderr.trim()}`);
    },
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if ((await daemon.docker(['version', '--format', '{{.Server.Version}}'])).code === 0) break;
      if (!(await containerRunning(host, id))) throw new Error(`the daemon container exited; its log:\n${await daemon.logs()}`);
      if (Date.now() > deadline) throw new Error(`the daemon did not answer in 60 s; its log:\n${await daemon.logs()}`);
      await sleep(200);
    }
    const tpl = `{{with index .NetworkSettings.Networks ${JSON.stringify(opts.network)}}}{{.IPAddress}}{{end}}`;
    daemon.ip = (await dockerOk(host, ['inspect', '-f', tpl, id])).trim();
    return daemon;
  } catch (e) {
    await daemon.stop().catch(() => undefined);
    throw e;
  }
}

/** certs.d entries for the registry, relative to /etc/docker/certs.d: `<alias>:<port>/ca.crt` (+ client.cert/.key). */
export function certsDFiles(registry: TestRegistry, opts: { ca?: boolean; client?: boolean } = {}): Record<string, string> {
  const { ca = true, client = true } = opts;
  const files: Record<string, string> = {};
  if (ca && registry.caPem) files[`${registry.address}/ca.crt`] = registry.caPem;
  if (client && registry.clientCertPem && registry.clientKeyPem) {
    files[`${registry.address}/client.cert`] = registry.clientCertPem;
    files[`${registry.address}/client.key`] = registry.clientKeyPem;
  }
  return files;
}

/** Writes certs.d entries under `dir` (created); returns dir. */
export async function writeCertsD(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await put(path, content, rel.endsWith('.key') ? 0o600 : 0o644);
  }
  return dir;
}

// ---------------------------------------------------------------------------
// Seeding

/** Puts a local image of the bed engine into the registry as `repo:tag` (e.g. seed(reg, 'local/busybox:1', 'library/busybox:1')). */
export async function seedImage(registry: TestRegistry, localImage: string, target: string): Promise<void> {
  const host = registry.dockerHost;
  const m = /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?$/.exec(target);
  if (!m) throw new Error(`seed target ${JSON.stringify(target)} is not a repository[:tag] path such as library/busybox:1`);
  const ref = `${m[1]}:${m[2] ?? 'latest'}`;
  await dockerOk(host, ['image', 'inspect', '--format', '{{.Id}}', localImage]);

  if (registry.tls !== 'mutual') {
    // The bed engine pushes to the loopback port: dockerd treats 127.0.0.0/8 as an insecure registry, so it accepts
    // our CA-less https (verification skipped) or falls back to plain http. Only the tag made here is removed.
    const tag = `127.0.0.1:${registry.hostPort}/${ref}`;
    if ((await dockerRun(host, ['image', 'inspect', tag])).code === 0)
      throw new Error(`seedImage: ${tag} already exists on the engine and is not ours; remove it first`);
    await dockerOk(host, ['tag', localImage, tag]);
    try {
      await dockerOk(host, ['push', tag]);
    } finally {
      await dockerOk(host, ['rmi', '--no-prune', tag]);
    }
    return;
  }

  // mutual TLS: the bed engine has no client certificate (it would read it from the host's /etc/docker/certs.d), so
  // a throw-away daemon on the network, trusting the CA and holding the client cert, loads the image and pushes it.
  const certsDir = await mkdtemp(join(tmpdir(), 'setup-dind-registry-seed-'));
  let daemon: TestDaemon | undefined;
  try {
    await writeCertsD(certsDir, certsDFiles(registry));
    daemon = await startDaemon({ network: registry.network, certsDir, dockerHost: host });
    await dockerPipe(host, ['save', localImage], ['exec', '-i', daemon.containerId, 'docker', 'load', '-q']);
    const pushed = `${registry.address}/${ref}`;
    for (const args of [['tag', localImage, pushed], ['push', pushed]]) {
      const r = await daemon.docker(args);
      if (r.code !== 0) throw new Error(`seedImage: docker ${args.join(' ')} in the seeding daemon failed: ${(r.stderr || r.stdout).trim()}`);
    }
  } finally {
    await daemon?.stop();
    await rm(certsDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

/** Containers and networks of this test process (RUN_LABEL) still on the engine: empty after every stop(). */
export async function leftovers(dockerHost?: string): Promise<{ containers: string[]; networks: string[] }> {
  const host = resolveHost(dockerHost);
  const list = async (args: string[]) => (await dockerOk(host, args)).split('\n').filter(Boolean);
  return {
    containers: await list(['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', '{{.Names}}']),
    networks: await list(['network', 'ls', '--filter', `label=${RUN_LABEL}`, '--format', '{{.Name}}']),
  };
}
