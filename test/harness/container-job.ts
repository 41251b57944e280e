// Container jobs: ContainerOperationProvider (start/stop), ContainerInfo (mounts, path mapping), DockerCommandManager
// (docker create/exec argument lists) and ContainerStepHost (docker exec). Moved from runner.ts.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type JobContainerOptions, HARNESS_LABEL, type ContainerPaths, type JobContainerInfo } from './runner-types.js';
import { execFileP, systemTool } from './processes.js';

// Container jobs: ContainerOperationProvider (start/stop), ContainerInfo (mounts, path mapping),
// DockerCommandManager (docker create/exec argument lists) and ContainerStepHost (docker exec).

export interface PathMapping {
  host: string;
  container: string;
}

export interface MountVolume {
  source: string;
  target: string;
  readOnly?: boolean;
}

/** ContainerInfo.TranslateToContainerPath: the first mapping whose host path is the path or a parent of it. */
export function translateToContainerPath(p: string, mappings: PathMapping[]): string {
  if (!p) return p;
  for (const m of mappings) {
    if (p === m.host) return m.container;
    if (p.startsWith(m.host + '/')) return m.container + p.slice(m.host.length);
  }
  return p;
}

/** Pipelines.Validation.NameValidation.Sanitize: letters, '_', and digits after the first character. */
export function sanitizeName(name: string): string {
  let out = '';
  for (const c of name) {
    if (/[a-zA-Z_]/.test(c) || (/[0-9]/.test(c) && out.length > 0)) out += c;
  }
  return out;
}

/** The runner maps node12/node16 actions to node20; node20/node24 keep their version (no migration flags modelled). */
export function nodeRuntimeOf(using: string): string {
  return using === 'node12' || using === 'node16' ? 'node20' : using;
}

export interface ContainerLayout {
  /** host dirs */
  work: string;
  temp: string;
  actions: string;
  tools: string;
  externals: string;
  home: string;
  workflow: string;
  workspace: string;
  eventPath: string;
  actionDir: string;
}

/** Checks what can be checked before anything is created; returns the resolved socket path and node dir. */
export function resolveContainerOptions(c: JobContainerOptions, nodePath: string): { socketPath: string; nodeDir: string } {
  if (!c.image) throw new Error('harness: container.image is required');
  if (!c.dockerHost) throw new Error('harness: container.dockerHost is required (the engine that runs the job container)');
  let socketPath = c.socketPath;
  if (!socketPath) {
    if (!c.dockerHost.startsWith('unix://')) {
      throw new Error(
        `harness: container.socketPath is required when container.dockerHost is not a unix:// socket (got '${c.dockerHost}'); the job container gets that host path mounted at /var/run/docker.sock`,
      );
    }
    socketPath = c.dockerHost.slice('unix://'.length);
  }
  if (!path.isAbsolute(socketPath)) throw new Error(`harness: container.socketPath must be an absolute host path (got '${socketPath}')`);
  const nodeDir = c.nodeDir ?? path.dirname(path.dirname(nodePath));
  if (!existsSync(path.join(nodeDir, 'bin', 'node'))) {
    throw new Error(`harness: container.nodeDir '${nodeDir}' has no bin/node (it is mounted at /__e/<nodeXX> in the job container)`);
  }
  for (const o of c.options ?? []) {
    if (typeof o !== 'string') throw new Error('harness: container.options must be an array of strings (argv, not a shell string)');
  }
  return { socketPath, nodeDir };
}

export class JobContainer {
  /** per-job key: label value and network name suffix */
  readonly key = randomUUID().replaceAll('-', '');
  readonly label: string;
  readonly name: string;
  readonly network: string;
  readonly docker: string;
  readonly dockerHost: string;
  readonly image: string;
  readonly mappings: PathMapping[];
  readonly mounts: MountVolume[];
  readonly paths: ContainerPaths;
  readonly hostWorkDir: string;
  readonly socketPath: string;
  id: string | undefined;
  networkCreated = false;
  removed = false;
  /** PATH from the container's config (ContainerInfo.ContainerRuntimePath) */
  runtimePath = '';
  configEnv: Record<string, string> = {};
  createArgs: string[] = [];

  constructor(
    private readonly opts: JobContainerOptions,
    resolved: { socketPath: string; nodeDir: string },
    layout: ContainerLayout,
    nodeRuntime: string,
    private readonly baseEnv: Record<string, string>,
    private readonly out: {
      log: (line: string) => void;
      display: (line: string) => void;
      warning: (message: string) => void;
    },
  ) {
    this.docker = systemTool('docker');
    this.dockerHost = opts.dockerHost;
    this.image = opts.image;
    this.label = `${HARNESS_LABEL}=${this.key}`;
    // ContainerInfo: "<alias>_<sanitized image>_<6 hex>" (the job container's alias is a GUID)
    this.name = `${randomUUID().replaceAll('-', '')}_${sanitizeName(opts.image)}_${randomUUID().replaceAll('-', '').slice(0, 6)}`;
    this.network = `github_network_${this.key}`;
    this.hostWorkDir = layout.work;
    this.socketPath = resolved.socketPath;

    // ContainerInfo's mappings (work, tools, externals), then MountWellKnownDirectories inserts
    // home and workflow at the front
    this.mappings = [
      { host: layout.workflow, container: '/github/workflow' },
      { host: layout.home, container: '/github/home' },
      { host: layout.work, container: '/__w' },
      { host: layout.tools, container: '/__t' },
      { host: layout.externals, container: '/__e' },
    ];
    const t = (p: string): string => translateToContainerPath(p, this.mappings);
    this.mounts = [
      // the runner mounts the literal /var/run/docker.sock; here: the socket of the engine we were given
      { source: resolved.socketPath, target: '/var/run/docker.sock' },
      { source: layout.work, target: t(layout.work) },
      { source: layout.externals, target: t(layout.externals), readOnly: true },
      { source: layout.temp, target: t(layout.temp) },
      { source: layout.actions, target: t(layout.actions) },
      { source: layout.tools, target: t(layout.tools) },
      { source: layout.home, target: '/github/home' },
      { source: layout.workflow, target: '/github/workflow' },
      // harness: the runner's externals/<nodeXX> comes from the node dir we were given
      { source: resolved.nodeDir, target: `${t(layout.externals)}/${nodeRuntime}`, readOnly: true },
    ];
    this.paths = {
      work: t(layout.work),
      runnerTemp: t(layout.temp),
      workspace: t(layout.workspace),
      toolCache: t(layout.tools),
      home: t(layout.home),
      eventPath: t(layout.eventPath),
      actionDir: t(layout.actionDir),
      node: `${t(layout.externals)}/${nodeRuntime}/bin/node`,
    };
  }

  translate(p: string): string {
    return translateToContainerPath(p, this.mappings);
  }

  /** ContainerStepHost.ResolvePathForStepHost: translate only paths below a mount source. */
  resolveForStepHost(p: string): string {
    return this.mounts.some((m) => p.startsWith(m.source)) ? this.translate(p) : p;
  }

  /** ContainerStepHost.TranslateToContainerPath(environment): every value. */
  translateEnv(env: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, this.translate(v)]));
  }

  /**
   * ContainerStepHost.ExecuteAsync: `docker exec -i --workdir <dir> -e NAME ... [-e PATH=...] <id> <command>`.
   * The docker CLI's own environment is the runner's plus the step's (ProcessInvoker layers
   * `environment` over its own), and `-e NAME` takes the value from there. So a step env DOCKER_HOST
   * (e.g. exported through GITHUB_ENV) also decides which engine that `docker exec` talks to, like
   * on a real runner. The runner host's default socket (DOCKER_HOST empty or
   * unix:///var/run/docker.sock) is the one mounted into the job container; the harness maps it
   * to `socketPath` and never uses the machine's /var/run/docker.sock.
   */
  prepareExec(
    workdir: string,
    execEnv: Record<string, string>,
    prependPath: string,
    command: string[],
  ): { args: string[]; cliEnv: Record<string, string>; processEnv: Record<string, string> } {
    const cliEnv: Record<string, string> = { ...this.baseEnv, DOCKER_HOST: this.dockerHost, ...execEnv, GITHUB_ACTIONS: 'true' };
    if (!('CI' in cliEnv)) cliEnv.CI = 'true';
    const stepHost = cliEnv.DOCKER_HOST;
    const mappedHost = stepHost === '' || stepHost === 'unix:///var/run/docker.sock';
    if (mappedHost) cliEnv.DOCKER_HOST = `unix://${this.socketPath}`;

    const args = ['exec', '-i', '--workdir', workdir];
    const processEnv: Record<string, string> = { ...this.configEnv };
    for (const k of Object.keys(execEnv)) {
      if (!k) continue;
      if (k === 'DOCKER_HOST' && mappedHost) {
        args.push('-e', `${k}=${execEnv[k]}`); // the container must still see the step's value
        processEnv[k] = execEnv[k]!;
      } else {
        args.push('-e', k);
        processEnv[k] = cliEnv[k]!;
      }
    }
    if (prependPath) {
      const fullPath = this.runtimePath ? `${prependPath}:${this.runtimePath}` : prependPath;
      args.push('-e', `PATH=${fullPath}`);
      processEnv.PATH = fullPath;
    }
    args.push(this.id!, ...command);
    return { args, cliEnv, processEnv };
  }

  private async dockerCmd(args: string[], show = true): Promise<{ code: number; stdout: string; stderr: string }> {
    const line = `${this.docker} ${args.join(' ')}`;
    this.out.log(`[command]${line}`);
    if (show) this.out.display(`##[command]${line}`);
    const r = await execFileP(this.docker, args, {
      env: { ...this.baseEnv, DOCKER_HOST: this.dockerHost },
      cwd: this.hostWorkDir,
      timeoutMs: 300_000,
    });
    for (const l of `${r.stdout}${r.stderr}`.split('\n').filter((x) => x !== '')) {
      this.out.log(l);
      if (show) this.out.display(l);
    }
    return r;
  }

  private fail(what: string, r: { code: number; stderr: string; stdout: string }): never {
    throw new Error(`harness: ${what} failed with exit code ${r.code} on ${this.dockerHost}: ${(r.stderr || r.stdout).trim()}`);
  }

  /** "Initialize containers" (ContainerOperationProvider.StartContainersAsync for the job container). */
  async start(): Promise<void> {
    const { display } = this.out;
    display('##[group]Checking docker version');
    const server = await this.dockerCmd(['version', '--format', '{{.Server.APIVersion}}']);
    if (server.code !== 0) this.fail('docker version (is the engine up?)', server);
    display(`Docker daemon API version: '${server.stdout.trim()}'`);
    const client = await this.dockerCmd(['version', '--format', '{{.Client.APIVersion}}']);
    display(`Docker client API version: '${client.stdout.trim()}'`);
    display('##[endgroup]');
    // Not done: "Clean up resources from previous jobs" (docker ps/rm + network prune by the runner's
    // label). The engine is shared; this job's label is fresh, so there is nothing of ours to clean.

    display('##[group]Create local container network');
    const net = await this.dockerCmd(['network', 'create', '--label', this.label, this.network]);
    if (net.code !== 0) this.fail('docker network create', net);
    this.networkCreated = true;
    display('##[endgroup]');

    display('##[group]Starting job container');
    // the runner always pulls (3 tries); no registry may be reachable here, so only when missing
    const have = await this.dockerCmd(['image', 'inspect', '--format', '{{.Id}}', this.image], false);
    if (have.code !== 0) {
      const pull = await this.dockerCmd(['pull', this.image]);
      if (pull.code !== 0) this.fail(`docker pull ${this.image}`, pull);
    }

    const env: Record<string, string> = { ...(this.opts.env ?? {}) };
    env.HOME = this.paths.home;
    const args = ['create', '--name', this.name, '--label', this.label, '--workdir', this.paths.workspace, '--network', this.network];
    args.push(...(this.opts.options ?? []));
    for (const [k, v] of Object.entries(env)) args.push('-e', v === '' ? k : `${k}=${v}`);
    args.push('-e', 'GITHUB_ACTIONS=true');
    if (!('CI' in env)) args.push('-e', 'CI=true');
    for (const m of this.mounts) args.push('-v', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);
    args.push('--entrypoint', 'tail', this.image, '-f', '/dev/null');
    this.createArgs = args;
    const created = await this.dockerCmd(args);
    const id = created.stdout.trim().split('\n').pop()?.trim();
    if (created.code !== 0 || !id) {
      // it may exist anyway (e.g. created, then the CLI failed): stop() removes it by label
      this.fail('docker create', created);
    }
    this.id = id;
    const started = await this.dockerCmd(['start', id]);
    if (started.code !== 0) this.fail('docker start', started);

    const ps = await this.dockerCmd([
      'ps', '--all', '--filter', `id=${id}`, '--filter', 'status=running', '--no-trunc', '--format', '{{.ID}} {{.Status}}',
    ]);
    if (!ps.stdout.trim().startsWith(id)) {
      await this.dockerCmd(['logs', '--details', id]);
      this.out.warning(`Docker container ${id} is not in running state.`);
    }
    const inspected = await this.dockerCmd(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', id]);
    for (const line of inspected.stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) this.configEnv[line.slice(0, eq)] = line.slice(eq + 1);
    }
    this.runtimePath = this.configEnv.PATH ?? '';
    display('##[endgroup]');
  }

  /**
   * "Stop containers" (StopContainersAsync): `docker rm --force` the container (here with
   * --volumes: anonymous volumes would carry no label), then `docker network rm`. Also sweeps
   * anything else carrying this job's label. Idempotent; never throws.
   */
  async stop(): Promise<void> {
    if (this.removed) return;
    let ok = true;
    const rmContainer = async (id: string, display: string): Promise<void> => {
      this.out.display(`Stop and remove container: ${display}`);
      const rm = await this.dockerCmd(['rm', '--force', '--volumes', id]);
      if (rm.code !== 0 && !/No such container/i.test(rm.stderr)) {
        ok = false;
        this.out.warning(`Docker rm fail with exit code ${rm.code}`);
      }
    };
    const rmNetwork = async (name: string): Promise<void> => {
      this.out.display(`Remove container network: ${name}`);
      const rm = await this.dockerCmd(['network', 'rm', name]);
      if (rm.code !== 0 && !/not found|No such network/i.test(rm.stderr)) {
        ok = false;
        this.out.warning(`Docker network rm failed with exit code ${rm.code}`);
      }
    };
    if (this.id) await rmContainer(this.id, this.name);
    // anything else carrying this job's label (e.g. created although `docker create` reported a failure)
    const listed = await this.dockerCmd(['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${this.label}`], false);
    if (listed.code !== 0) ok = false;
    for (const id of listed.stdout.split('\n').map((x) => x.trim()).filter(Boolean)) await rmContainer(id, id);
    if (this.networkCreated) await rmNetwork(this.network);
    const nets = await this.dockerCmd(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=${this.label}`], false);
    if (nets.code !== 0) ok = false;
    for (const n of nets.stdout.split('\n').map((x) => x.trim()).filter(Boolean)) await rmNetwork(n);
    this.removed = ok;
  }

  info(): JobContainerInfo {
    return {
      id: this.id ?? '',
      name: this.name,
      network: this.network,
      image: this.image,
      label: this.label,
      createArgs: [...this.createArgs],
      configEnv: { ...this.configEnv },
      paths: { ...this.paths },
      removed: this.removed,
    };
  }
}
