// The GitLab CI/CD templates (templates/) against the CLI, without an engine: every spec input reaches a variable the
// CLI reads with the CLI's default, the service template hands the registry inputs on and is valid in mode external,
// and the README documents every input of both.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, parseCli } from '../../src/cli.js';
import { CACHE_STRATEGIES, INPUT_DEFAULTS, MODES, type InputName, parseInputs } from '../../src/inputs/inputs.js';
import { inputsIn, interpolate, readTemplate } from '../templates.js';

const repoRoot = join(import.meta.dirname, '..', '..');

describe('GitLab CI templates: spec inputs match the CLI', () => {
  it('setup-dind.yml: every input reaches a SETUP_DIND_* variable the CLI reads, with the CLI\'s default', () => {
    const { header, content } = readTemplate('setup-dind.yml');
    const inputs = header.spec.inputs;
    expect(Object.keys(content)).toEqual(['.setup-dind']);
    const job = content['.setup-dind']!;
    for (const [name, input] of Object.entries(inputs)) expect(input.description, `input ${name} needs a description`).toBeTruthy();

    // Where each input goes: a job variable or an export in before_script, named after the CLI input.
    const routes = new Map<string, string[]>();
    for (const [variable, value] of Object.entries(job.variables ?? {})) {
      for (const name of inputsIn(String(value))) routes.set(name, [...(routes.get(name) ?? []), variable]);
      expect(String(value), `${variable} is exactly one input`).toMatch(/^\$\[\[ inputs\.[\w-]+ \]\]$/);
    }
    for (const line of job.before_script ?? []) {
      for (const m of line.matchAll(/export (SETUP_DIND_\w+)="\$\[\[ inputs\.([\w-]+) \]\]"/g)) routes.set(m[2]!, [...(routes.get(m[2]!) ?? []), m[1]!]);
    }
    const cliInputs = Object.keys(INPUT_DEFAULTS).filter((n) => n !== 'job-status');
    for (const name of Object.keys(inputs)) {
      if (name === 'cli') continue;
      const expected = name === 'state-dir' ? 'SETUP_DIND_STATE_DIR' : envName(name);
      expect(routes.get(name), `input ${name}`).toEqual([expected]);
      // The CLI really reads that variable (a flag or variable it does not know would be ignored or refused).
      const parsed = parseCli(['start'], { [expected]: 'sentinel-value' });
      if (name === 'state-dir') expect(parsed.stateDir).toBe('sentinel-value');
      else {
        expect(cliInputs, `input ${name} is a CLI input`).toContain(name);
        expect(parsed.inputs[name as InputName]).toBe('sentinel-value');
        expect(String(inputs[name]!.default), `input ${name}: the CLI's default`).toBe(name === 'cache-dir' ? '.setup-dind-cache' : INPUT_DEFAULTS[name as InputName]);
      }
    }
    expect(inputs.mode!.options).toEqual([...MODES]);
    expect(inputs.cache!.options).toEqual([...CACHE_STRATEGIES]);
    expect(inputs['wait-timeout']!.type).toBe('number');
    // The state directory defaults to where the CLI puts it itself.
    expect(parseCli(['start'], { CI_JOB_ID: '4711' }).stateDir).toBe(join(tmpdir(), 'setup-dind-4711'));
    expect(inputs['state-dir']!.default).toBe('/tmp/setup-dind-$CI_JOB_ID');

    // The CLI in before_script and after_script, in the order GitLab runs them.
    const cli = '$[[ inputs.cli ]]';
    expect(job.before_script!.findIndex((l) => l === `${cli} start`)).toBeGreaterThan(-1);
    expect(job.before_script!.some((l) => l.includes(`$(${cli} env)`))).toBe(true);
    expect(job.after_script![0]).toBe(`${cli} stop`);
    expect(job.after_script!.at(-1)).toBe('rm -rf "$SETUP_DIND_STATE_DIR"');
    // GitLab's cache keeps the cache directory: key, fallback keys, pull-push.
    expect(job.cache).toHaveLength(1);
    expect(job.cache![0]).toMatchObject({ paths: ['$[[ inputs.cache-dir ]]'], policy: 'pull-push' });
    expect(job.cache![0]!.key).toContain('$[[ inputs.cache ]]');
    expect(job.cache![0]!.fallback_keys!.length).toBeGreaterThan(0);

    // What GitLab hands the CLI is valid: with the defaults, and with a cache (then cache-dir is exported).
    const cases: Record<string, string>[] = [{}, { cache: 'images' }, { cache: 'data-root', mode: 'dind' }, { mode: 'socket' }];
    for (const given of cases) {
      const vars = interpolate(header, job.variables!, given);
      const env: Record<string, string> = { ...vars, CI_JOB_ID: '1' };
      if (vars.SETUP_DIND_CACHE !== 'false') env.SETUP_DIND_CACHE_DIR = interpolate(header, '$[[ inputs.cache-dir ]]', given);
      const parsed = parseCli(['start'], env);
      expect(() => parseInputs((n) => parsed.inputs[n] ?? '', { workspace: '/builds/group/project' }), JSON.stringify(given)).not.toThrow();
    }
  });

  it('dind-service.yml: the service gets the registry inputs, the job waits with the CLI (valid in mode external)', () => {
    const { header, content } = readTemplate('dind-service.yml');
    const inputs = header.spec.inputs;
    expect(Object.keys(content)).toEqual(['.setup-dind-service']);
    const job = content['.setup-dind-service']!;
    for (const [name, input] of Object.entries(inputs)) expect(input.description, `input ${name} needs a description`).toBeTruthy();
    const [service] = job.services!;
    expect(job.services).toHaveLength(1);
    expect(service!.name).toBe('$[[ inputs.image ]]');
    expect(service!.alias).toBe('docker');
    expect(inputs.image!.default).toBe(INPUT_DEFAULTS.image);
    // Service-side inputs become the service's variables, which its entrypoint script reads.
    const script = service!.entrypoint![2]!;
    expect(service!.entrypoint).toEqual(['sh', '-c', script, '--']);
    expect(script).toMatch(/exec dockerd-entrypoint\.sh "\$@"\n$/);
    for (const [variable, value] of Object.entries(service!.variables!)) {
      expect(value).toMatch(/^\$\[\[ inputs\.[\w-]+ \]\]$/);
      expect(script, `the entrypoint reads ${variable}`).toContain(`$${variable}`);
    }
    expect(Object.values(service!.variables!).flatMap(inputsIn).sort()).toEqual(['registry', 'registry-ca', 'registry-mirrors']);
    // CLI-side inputs: the command, and wait-timeout as SETUP_DIND_WAIT_TIMEOUT (the CLI's default).
    expect(job.variables!.SETUP_DIND_WAIT_TIMEOUT).toBe('$[[ inputs.wait-timeout ]]');
    expect(String(inputs['wait-timeout']!.default)).toBe(INPUT_DEFAULTS['wait-timeout']);
    expect(inputsIn(job.before_script!.join('\n')).sort()).toEqual(['cli', 'cli']);
    expect(job.before_script!.join('\n')).toMatch(/\$\[\[ inputs\.cli \]\] wait --state-dir "\$wait_state" --tls-cert-path "\$DOCKER_CERT_PATH"/);
    const used = new Set([...inputsIn(JSON.stringify(content))]);
    expect([...used].sort()).toEqual(Object.keys(inputs).sort());
    // The job talks TLS to the service, and what it hands `setup-dind wait` is valid there (mode external).
    expect(job.variables).toMatchObject({ DOCKER_HOST: 'tcp://docker:2376', DOCKER_TLS_CERTDIR: '/certs', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs/client' });
    const setupDind = Object.keys(job.variables!).filter((v) => v.startsWith('SETUP_DIND_'));
    expect(setupDind).toEqual(['SETUP_DIND_WAIT_TIMEOUT']);
    const parsed = parseCli(['wait', '--tls-cert-path', ''], interpolate(header, job.variables!));
    const read = (n: InputName) => (n === 'mode' ? 'external' : n === 'docker-host' ? 'tcp://docker:2376' : parsed.inputs[n] ?? '');
    expect(() => parseInputs(read)).not.toThrow();
  });

  it('README documents every input of both templates', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## GitLab CI'));
    for (const [file, heading] of [['setup-dind.yml', '### `setup-dind` inputs'], ['dind-service.yml', '### `dind-service` inputs']] as const) {
      const table = section.slice(section.indexOf(heading), section.indexOf('\n\n', section.indexOf('| input |', section.indexOf(heading))));
      const documented = [...table.matchAll(/^\| `([\w-]+)` \|([^|]*)\|/gm)].map((m) => [m[1]!, m[2]!.trim().replace(/^`|`$/g, '')]);
      const { header } = readTemplate(file);
      expect(Object.fromEntries(documented), file).toEqual(Object.fromEntries(Object.entries(header.spec.inputs).map(([k, v]) => [k, String(v.default ?? '')])));
    }
  });
});
