// The workflow files and action.yml against GitHub's schemas (with @action-validator/cli), and the Kubernetes and
// GitLab examples wired the way they claim: one unix socket on an emptyDir, no TCP, setup-dind wait before docker.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const workflowsDir = join(root, '.github', 'workflows');
const k8sDir = join(root, 'examples', 'k8s');
const SOCKET_DIR = '/run/dind';
const SOCKET_HOST = 'unix:///run/dind/docker.sock';
const HOST_FLAG = `--host=${SOCKET_HOST}`;

const scratch = mkdtempSync(join(tmpdir(), 'setup-dind-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// @action-validator/cli: `action-validator FILE`, one file per run. A file whose name ends in action.yml/action.yaml
// is checked against the action schema, any other against the workflow schema. Errors: a JSON report on stderr and
// exit 1. Its WebAssembly build cannot check that `paths` globs match files: it warns on stderr and passes.

const require = createRequire(import.meta.url);
const validatorPackage = require.resolve('@action-validator/cli/package.json');
const validatorBin = join(dirname(validatorPackage), (JSON.parse(readFileSync(validatorPackage, 'utf8')) as { bin: Record<string, string> }).bin['action-validator']!);
const GLOB_WARNING = /^WARNING: Glob validation is not yet supported\. Glob at \S+ will not be validated\.$/;

interface Validation {
  status: number;
  stderr: string;
}

let runs = 0;
function validate(file: string): Validation {
  // stderr goes to a file so that the warnings of a passing run are read too (execFileSync returns only stdout).
  const stderrPath = join(scratch, `validator-${runs++}.stderr`);
  const fd = openSync(stderrPath, 'w');
  try {
    execFileSync(process.execPath, [validatorBin, file], { cwd: root, stdio: ['ignore', 'pipe', fd], timeout: 60_000 });
    return { status: 0, stderr: readFileSync(stderrPath, 'utf8') };
  } catch (e) {
    const status = (e as { status?: number | null }).status;
    if (typeof status !== 'number') throw e; // not started, or killed: not a verdict
    return { status, stderr: readFileSync(stderrPath, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

interface SchemaError {
  code: string;
  path?: string;
  title: string;
  detail?: string;
  states?: { errors: SchemaError[] }[];
}

function report(v: Validation): { actionType: string; errors: SchemaError[] } {
  const start = v.stderr.indexOf('{');
  expect(start, `a JSON report on stderr, got: ${v.stderr}`).toBeGreaterThanOrEqual(0);
  return JSON.parse(v.stderr.slice(start)) as { actionType: string; errors: SchemaError[] };
}

const nonWarnings = (stderr: string) => stderr.split('\n').filter((line) => line.trim() && !GLOB_WARNING.test(line));

const workflowFiles = readdirSync(workflowsDir).filter((n) => /\.ya?ml$/.test(n)).sort();

type Yaml = Record<string, unknown>;
const readYaml = (path: string) => parse(readFileSync(path, 'utf8')) as Yaml;
const asRecord = (value: unknown): Yaml => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Yaml) : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

describe('the validator', () => {
  it('is installed and runs here (a WebAssembly build under this Node)', () => {
    expect(existsSync(validatorBin)).toBe(true);
    const v = validate(join(workflowsDir, 'ci.yml'));
    expect(v.status).toBe(0);
  });

  it('rejects a broken workflow, and accepts a valid one from the same directory', () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    const broken = join(dir, 'broken.yml');
    writeFileSync(broken, ['on: push', 'jobs:', '  test:', '    stepz:', '      - run: echo typo in steps, no runs-on', ''].join('\n'));
    const v = validate(broken);
    expect(v.status).toBe(1);
    const r = report(v);
    expect(r.actionType).toBe('workflow');
    expect(r.errors.map((e) => e.path)).toContain('/jobs/test');

    const unparsable = join(dir, 'unparsable.yml');
    writeFileSync(unparsable, 'on: push\njobs: [\n');
    const u = validate(unparsable);
    expect(u.status).toBe(1);
    expect(report(u).errors.map((e) => e.code)).toContain('parse_error');

    const control = join(dir, 'control.yml');
    writeFileSync(control, readFileSync(join(workflowsDir, 'ci.yml')));
    expect(validate(control).status).toBe(0);
  });

  it('rejects a broken action.yml (checked against the action schema by its name)', () => {
    const dir = mkdtempSync(join(scratch, 'action-'));
    const broken = join(dir, 'action.yml');
    writeFileSync(broken, 'name: no description, no runs\n');
    const v = validate(broken);
    expect(v.status).toBe(1);
    const r = report(v);
    expect(r.actionType).toBe('action');
    expect(r.errors.map((e) => e.path).sort()).toEqual(['/description', '/runs']);
  });
});

describe('.github/workflows', () => {
  it('holds ci.yml, the reusable docker-tests.yml and example-matrix.yml', () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(['ci.yml', 'docker-tests.yml', 'example-matrix.yml']));
  });

  it.each(workflowFiles)('%s passes the workflow schema', (name) => {
    const v = validate(join(workflowsDir, name));
    expect(v.status, v.stderr).toBe(0);
    expect(nonWarnings(v.stderr), 'only the "glob validation not supported" warning is expected').toEqual([]);
  });

  it.each(workflowFiles)('%s: every path filter names a file that exists (the validator does not check globs)', (name) => {
    const on = asRecord(readYaml(join(workflowsDir, name)).on);
    for (const [event, config] of Object.entries(on)) {
      for (const key of ['paths', 'paths-ignore']) {
        for (const pattern of asArray(asRecord(config)[key]).map(String)) {
          const literal = pattern.replace(/^!/, '').split(/[*?[{]/)[0]!;
          expect(existsSync(join(root, literal)), `${name}: on.${event}.${key} ${pattern}`).toBe(true);
        }
      }
    }
  });

  const actionInputs = Object.keys(asRecord(readYaml(join(root, 'action.yml')).inputs));

  it.each(workflowFiles)('%s: every step that uses this repository\'s action passes only inputs action.yml declares', (name) => {
    for (const job of Object.values(asRecord(readYaml(join(workflowsDir, name)).jobs))) {
      for (const step of asArray(asRecord(job).steps).map(asRecord)) {
        if (step.uses !== './' && step.uses !== './.setup-dind') continue;
        for (const input of Object.keys(asRecord(step.with))) expect(actionInputs, `${name}: with.${input}`).toContain(input);
      }
    }
  });

  describe('docker-tests.yml (reusable)', () => {
    const workflow = readYaml(join(workflowsDir, 'docker-tests.yml'));
    const call = asRecord(asRecord(workflow.on).workflow_call);
    const inputs = asRecord(call.inputs);
    const jobs = Object.values(asRecord(workflow.jobs)).map(asRecord);

    it('is called with workflow_call: run, mode, image, registry-mirrors, cache inputs and a registry-certs secret', () => {
      expect(Object.keys(asRecord(workflow.on))).toEqual(['workflow_call']);
      expect(Object.keys(inputs)).toEqual(expect.arrayContaining(['run', 'mode', 'image', 'registry-mirrors', 'cache', 'tcp']));
      expect(asRecord(inputs.run).required).toBe(true);
      expect(Object.keys(asRecord(call.secrets))).toContain('registry-certs');
    });

    it('checks the repository out before it uses the local action (uses: ./)', () => {
      expect(jobs).toHaveLength(1);
      const steps = asArray(jobs[0]!.steps).map(asRecord);
      const checkout = steps.findIndex((s) => String(s.uses).startsWith('actions/checkout@'));
      const local = steps.findIndex((s) => s.uses === './');
      expect(checkout).toBeGreaterThanOrEqual(0);
      expect(local).toBeGreaterThan(checkout);
      expect(asRecord(steps[local]!.with)['registry-certs']).toBe('${{ secrets.registry-certs }}');
      // Another repository's caller takes the action from a checkout of setup-dind, made before it is used.
      const other = steps.findIndex((s) => s.uses === './.setup-dind');
      const otherCheckout = steps.findIndex((s) => asRecord(s.with).path === '.setup-dind');
      expect(otherCheckout).toBeGreaterThan(checkout);
      expect(other).toBeGreaterThan(otherCheckout);
      expect(asRecord(steps[other]!.with)).toEqual(asRecord(steps[local]!.with));
    });

    it('documents how callers in other repositories use it', () => {
      const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
      expect(readFileSync(join(workflowsDir, 'docker-tests.yml'), 'utf8')).toContain(`uses: <owner>/setup-dind/.github/workflows/docker-tests.yml@v${version}`);
    });
  });

  describe('example-matrix.yml', () => {
    const workflow = readYaml(join(workflowsDir, 'example-matrix.yml'));
    const reusableInputs = asRecord(asRecord(asRecord(readYaml(join(workflowsDir, 'docker-tests.yml')).on).workflow_call).inputs);

    it('runs on workflow_dispatch and on pull requests that change it', () => {
      const on = asRecord(workflow.on);
      expect(Object.keys(on).sort()).toEqual(['pull_request', 'workflow_dispatch']);
      expect(asArray(asRecord(on.pull_request).paths)).toContain('.github/workflows/example-matrix.yml');
    });

    it('calls the reusable workflow over dind images, tcp and cache settings, with inputs it declares', () => {
      const jobs = Object.values(asRecord(workflow.jobs)).map(asRecord);
      expect(jobs).toHaveLength(1);
      const job = jobs[0]!;
      expect(job.uses).toBe('./.github/workflows/docker-tests.yml');
      const matrix = asRecord(asRecord(job.strategy).matrix);
      expect(matrix.image).toEqual(expect.arrayContaining(['docker:27-dind', 'docker:28-dind', 'docker:29-dind']));
      expect(matrix.tcp).toEqual(expect.arrayContaining([true, false]));
      expect(matrix.cache).toEqual(expect.arrayContaining(['images', 'false']));
      const given = asRecord(job.with);
      for (const input of Object.keys(given)) expect(Object.keys(reusableInputs), `with.${input}`).toContain(input);
      for (const [input, spec] of Object.entries(reusableInputs)) if (asRecord(spec).required) expect(given[input], `required input ${input}`).toBeTruthy();
    });
  });
});

describe('action.yml', () => {
  it('passes the action schema, except for the validator\'s outdated list of Node runtimes', () => {
    const v = validate(join(root, 'action.yml'));
    if (v.status !== 0) {
      // @action-validator 0.6.0's schema allows using: node12, node16, node20; GitHub runs node24 too. Allowed: one
      // failure, that the node-action branch of runs has no problem but runs.using.
      const r = report(v);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!).toMatchObject({ code: 'one_of', path: '/runs' });
      const nodeBranch = (r.errors[0]!.states ?? []).find((s) => s.errors.some((e) => e.path === '/runs/using' && e.code === 'enum'));
      expect(nodeBranch?.errors, JSON.stringify(r)).toEqual([{ code: 'enum', path: '/runs/using', title: expect.any(String) }]);
      expect(asRecord(readYaml(join(root, 'action.yml')).runs).using).toBe('node24');
    }
    // Everything else, the schema in full: the same file with the one runtime the schema knows instead.
    const text = readFileSync(join(root, 'action.yml'), 'utf8');
    expect(text.match(/^ {2}using: node24$/gm)).toHaveLength(1);
    const dir = mkdtempSync(join(scratch, 'node20-'));
    writeFileSync(join(dir, 'action.yml'), text.replace(/^ {2}using: node24$/m, '  using: node20'));
    const copy = validate(join(dir, 'action.yml'));
    expect(copy.status, copy.stderr).toBe(0);
    expect(nonWarnings(copy.stderr)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// examples/k8s

interface VolumeMount {
  name: string;
  mountPath: string;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: VolumeMount[];
  restartPolicy?: string;
  securityContext?: { privileged?: boolean; runAsUser?: number; runAsGroup?: number };
}
interface PodSpec {
  restartPolicy?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; emptyDir?: Record<string, unknown> | null }[];
  securityContext?: { supplementalGroups?: number[]; fsGroup?: number };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: { template?: { spec?: PodSpec } } & Partial<PodSpec>;
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const DIND_IMAGE = /^docker:[\w.-]*dind$/;
const commandLine = (c: Container) => [...(c.command ?? []), ...(c.args ?? [])];
const mountAt = (c: Container, path: string) => (c.volumeMounts ?? []).find((m) => m.mountPath === path);
const podSpecOf = (m: Manifest): PodSpec | undefined => (m.kind === 'Pod' ? (m.spec as PodSpec) : m.spec?.template?.spec);

const manifests = readdirSync(k8sDir)
  .filter((n) => /\.ya?ml$/.test(n))
  .sort()
  .flatMap((name) => parseAllDocuments(readFileSync(join(k8sDir, name), 'utf8')).map((doc, i) => ({ file: `${name}#${i}`, manifest: doc.toJS() as Manifest })));
const podManifests = manifests.filter(({ manifest }) => podSpecOf(manifest));

/** The script a container runs, as one string, and whether `setup-dind wait` comes before the first docker command. */
function waitsBeforeDocker(script: string): boolean {
  const wait = script.search(/\bsetup-dind wait\b/);
  const docker = script.search(/(^|[\s;&|])docker (version|info|run|build|ps|pull|compose|buildx)\b/m);
  return wait >= 0 && (docker === -1 || wait < docker);
}

describe('examples/k8s', () => {
  it('every YAML file there parses, every document without errors or warnings', () => {
    const files = yamlFilesUnder(k8sDir);
    expect(files.map((f) => relative(k8sDir, f)).sort()).toEqual(expect.arrayContaining(['gitlab/.gitlab-ci.yml', 'job-native-sidecar.yaml', 'pod-sidecar.yaml']));
    for (const file of files) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'));
      expect(Array.isArray(docs), `${file}: a stream of documents`).toBe(true);
      for (const doc of docs) {
        expect(doc.errors.map(String), file).toEqual([]);
        expect(doc.warnings.map(String), file).toEqual([]);
        expect(doc.toJS(), `${file}: an empty document`).toBeTruthy();
      }
    }
  });

  it.each(manifests.map(({ file, manifest }) => [file, manifest] as const))('%s has kind, apiVersion and metadata.name', (_file, manifest) => {
    expect(manifest.kind).toMatch(/^[A-Z]\w+$/);
    expect(manifest.apiVersion).toMatch(/^(v1|[\w.-]+\/v\d\w*)$/);
    expect(manifest.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('has a pod with a regular dind sidecar and a Job with a native one', () => {
    const native = podManifests.filter(({ manifest }) => (podSpecOf(manifest)!.initContainers ?? []).some((c) => DIND_IMAGE.test(c.image)));
    const regular = podManifests.filter(({ manifest }) => podSpecOf(manifest)!.containers.some((c) => DIND_IMAGE.test(c.image)));
    expect(regular.map(({ manifest }) => manifest.kind)).toContain('Pod');
    expect(native.map(({ manifest }) => manifest.kind)).toContain('Job');
  });

  describe.each(podManifests.map(({ file, manifest }) => [file, podSpecOf(manifest)!] as const))('%s', (_file, spec) => {
    const all = [...(spec.initContainers ?? []), ...spec.containers];
    const dinds = all.filter((c) => DIND_IMAGE.test(c.image));
    const dind = dinds[0]!;
    const jobs = spec.containers.filter((c) => !DIND_IMAGE.test(c.image));
    const job = jobs[0]!;
    const volume = (name: string | undefined) => (spec.volumes ?? []).find((v) => v.name === name);

    it('has one privileged dind container (docker:29-dind) and one job container', () => {
      expect(dinds).toHaveLength(1);
      expect(jobs).toHaveLength(1);
      expect(dind.image).toBe('docker:29-dind');
      expect(dind.securityContext?.privileged).toBe(true);
      expect(job.securityContext?.privileged ?? false).toBe(false);
    });

    it('runs dockerd on the unix socket only: --host=unix:///run/dind/docker.sock, no tcp://, with --group', () => {
      const line = commandLine(dind);
      expect(line).toContain(HOST_FLAG);
      expect(line.filter((a) => a.includes('tcp://'))).toEqual([]);
      expect(line.filter((a) => /^(--host|-H)\b/.test(a))).toEqual([HOST_FLAG]);
      // Arguments that start with dockerd keep dockerd-entrypoint.sh from adding its tcp:// listener and TLS certificates.
      expect(dind.command ?? [], 'the image entrypoint stays').toEqual([]);
      expect(dind.args?.[0]).toBe('dockerd');
      const group = line.find((a) => a.startsWith('--group='));
      expect(group).toBeDefined();
      // The socket's group is the job user's group, so the job container can use it without root.
      const gid = Number(group!.slice('--group='.length));
      const jobGroups = [job.securityContext?.runAsGroup, ...(spec.securityContext?.supplementalGroups ?? []), spec.securityContext?.fsGroup];
      expect(jobGroups).toContain(gid);
    });

    it('mounts the socket emptyDir at /run/dind in both containers', () => {
      const dindMount = mountAt(dind, SOCKET_DIR);
      const jobMount = mountAt(job, SOCKET_DIR);
      expect(dindMount).toBeDefined();
      expect(jobMount?.name).toBe(dindMount?.name);
      expect(volume(dindMount?.name)?.emptyDir).toBeDefined();
    });

    it('keeps the data root on its own emptyDir at /var/lib/docker, mounted in the dind container only', () => {
      const dataMount = mountAt(dind, '/var/lib/docker');
      expect(dataMount).toBeDefined();
      expect(dataMount!.name).not.toBe(mountAt(dind, SOCKET_DIR)?.name);
      expect(volume(dataMount!.name)?.emptyDir).toBeDefined();
      for (const other of all.filter((c) => c !== dind)) {
        expect((other.volumeMounts ?? []).filter((m) => m.name === dataMount!.name || m.mountPath === '/var/lib/docker'), other.name).toEqual([]);
      }
    });

    it('points the job container at the socket and runs setup-dind wait before docker', () => {
      expect(job.env).toContainEqual({ name: 'DOCKER_HOST', value: SOCKET_HOST });
      const script = commandLine(job).join('\n');
      expect(script).toMatch(/\bsetup-dind wait\b/);
      expect(waitsBeforeDocker(script), script).toBe(true);
    });

    it('as a native sidecar, restartPolicy: Always on the dind init container; else dind is a regular container', () => {
      const native = (spec.initContainers ?? []).includes(dind);
      if (native) expect(dind.restartPolicy).toBe('Always');
      else expect(spec.containers).toContain(dind);
      expect(spec.restartPolicy).toBe('Never');
    });
  });

  it('shows the sysbox RuntimeClass alternative to privileged', () => {
    expect(readFileSync(join(k8sDir, 'pod-sidecar.yaml'), 'utf8')).toMatch(/^\s*#\s*runtimeClassName: sysbox-runc$/m);
  });

  it('README.md explains the socket and how to apply', () => {
    const readme = readFileSync(join(k8sDir, 'README.md'), 'utf8');
    expect(readme).toContain('kubectl apply');
    expect(readme).toContain('emptyDir');
    expect(readme).toContain('setup-dind wait');
  });

  describe('GitLab, Kubernetes executor', () => {
    const ci = readYaml(join(k8sDir, 'gitlab', '.gitlab-ci.yml'));
    const RESERVED = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);
    const jobs = Object.entries(ci).filter(([name]) => !name.startsWith('.') && !RESERVED.has(name)).map(([, job]) => asRecord(job));

    it('.gitlab-ci.yml: a job with a dind service on the unix socket that runs setup-dind wait', () => {
      expect(jobs).toHaveLength(1);
      const job = jobs[0]!;
      const services = asArray(job.services).map(asRecord);
      const dind = services.find((s) => DIND_IMAGE.test(String(s.name)));
      expect(dind, 'a docker:*-dind service').toBeDefined();
      const command = asArray(dind!.command).map(String);
      expect(command[0]).toBe('dockerd');
      expect(command).toContain(HOST_FLAG);
      expect(command.some((a) => a.startsWith('--group='))).toBe(true);
      expect(command.filter((a) => a.includes('tcp://'))).toEqual([]);
      expect(dind!.entrypoint, 'the image entrypoint stays').toBeUndefined();
      expect(asRecord(job.variables).DOCKER_HOST).toBe(SOCKET_HOST);
      const script = asArray(job.script).map(String).join('\n');
      expect(waitsBeforeDocker(script), script).toBe(true);
    });

    it('config.toml parses and mounts one emptyDir at /run/dind, privileged for services only', () => {
      const config = parseToml(readFileSync(join(k8sDir, 'gitlab', 'config.toml'), 'utf8')) as Yaml;
      const runners = asArray(config.runners).map(asRecord);
      const runner = runners.find((r) => r.executor === 'kubernetes');
      expect(runner).toBeDefined();
      const kubernetes = asRecord(runner!.kubernetes);
      const emptyDirs = asArray(asRecord(kubernetes.volumes).empty_dir).map(asRecord);
      expect(emptyDirs.filter((v) => v.mount_path === SOCKET_DIR)).toHaveLength(1);
      expect(new Set(emptyDirs.map((v) => v.name)).size).toBe(emptyDirs.length);
      expect(asRecord(kubernetes.service_container_security_context).privileged).toBe(true);
      expect(kubernetes.privileged ?? false, 'not every container of the pod').toBe(false);
    });
  });
});
