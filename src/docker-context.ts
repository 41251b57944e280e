// Container jobs: the GitHub runner runs the host's `docker exec` for every later step with that step's environment,
// so an exported DOCKER_HOST would send the runner's own `docker exec` to the job's daemon and break every step.
// Instead, the docker CLI inside the job container is pointed at the daemon through a docker context in its own
// config directory ($DOCKER_CONFIG or $HOME/.docker), which the host's CLI never reads. Post puts config.json back.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type DaemonEndpoint, formatAddress } from './endpoint.js';
import { writeFileNoWindow } from './private-file.js';

export const CONTEXT_NAME = 'setup-dind';

export interface ContextRecord {
  configDir: string;
  /** config.json before we set currentContext (null: there was none). */
  configBefore: string | null;
}

export const dockerConfigDir = (env: Readonly<Record<string, string | undefined>>): string =>
  env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');

const contextId = (name: string) => createHash('sha256').update(name).digest('hex');

export async function installDockerContext(configDir: string, endpoint: DaemonEndpoint, record: (r: ContextRecord) => void): Promise<void> {
  const configPath = join(configDir, 'config.json');
  let configBefore: string | null = null;
  try {
    configBefore = await readFile(configPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  let config: Record<string, unknown> = {};
  if (configBefore?.trim()) {
    try {
      config = JSON.parse(configBefore) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${configPath} is not valid JSON (${(e as Error).message}); the docker context cannot be set`);
    }
  }
  record({ configDir, configBefore });
  const id = contextId(CONTEXT_NAME);
  const meta = {
    Name: CONTEXT_NAME,
    Metadata: { Description: "this job's Docker daemon (setup-dind)" },
    Endpoints: { docker: { Host: formatAddress(endpoint.address), SkipTLSVerify: false } },
  };
  await mkdir(join(configDir, 'contexts', 'meta', id), { recursive: true, mode: 0o700 });
  await writeFile(join(configDir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify(meta));
  if (endpoint.tlsCertPath) {
    const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
    await mkdir(tlsDir, { recursive: true, mode: 0o700 });
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFileNoWindow(join(tlsDir, f), await readFile(join(endpoint.tlsCertPath, f)), f === 'key.pem' ? 0o600 : 0o644);
  }
  await writeFile(configPath, `${JSON.stringify({ ...config, currentContext: CONTEXT_NAME }, null, 2)}\n`, { mode: 0o600 });
}

export async function removeDockerContext(r: ContextRecord): Promise<void> {
  const id = contextId(CONTEXT_NAME);
  await rm(join(r.configDir, 'contexts', 'meta', id), { recursive: true, force: true });
  await rm(join(r.configDir, 'contexts', 'tls', id), { recursive: true, force: true });
  const configPath = join(r.configDir, 'config.json');
  if (r.configBefore === null) await rm(configPath, { force: true });
  else await writeFile(configPath, r.configBefore);
}
