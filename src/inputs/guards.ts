// Two checks at the start of a phase: the runner's operating system (Linux only), and whether main got the same
// inputs as pre. The runner evaluates pre's inputs before any step has run, so a value from `steps.*`, from a
// variable an earlier step wrote to GITHUB_ENV, or from a file the checkout brings is empty (or different) there.
import { createHash } from 'node:crypto';
import { INPUT_DEFAULTS, type InputName } from './inputs.js';
import type { Platform } from '../platform/platform.js';

/** One message (with the remedy) for every phase on a runner that is not Linux; undefined on Linux. */
export function unsupportedPlatform(os: NodeJS.Platform): string | undefined {
  if (os === 'linux') return undefined;
  const name = ({ darwin: 'macOS', win32: 'Windows' } as Record<string, string>)[os] ?? os;
  return (
    `setup-dind runs on Linux runners only, and this runner is ${name}: there is no Linux engine here to start or reach a ` +
    'daemon the way it needs. Run this job on a Linux runner (runs-on: ubuntu-latest, or a self-hosted Linux runner); ' +
    'jobs on other systems can reach a Linux daemon with the docker CLI (docker context or DOCKER_HOST) without this action.'
  );
}

/** Inputs that do not shape what pre starts: main and post read them for themselves. */
const NOT_COMPARED: InputName[] = ['wait-timeout', 'job-status'];
/** Environment the daemon takes from the job (dind passes the proxies on). */
const COMPARED_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'];

const digest = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);

/**
 * Digests (never the values: some are secrets) of what pre started with: every input that shapes the daemon and
 * the environment it reads.
 */
export function startDigests(platform: Pick<Platform, 'input' | 'env'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(INPUT_DEFAULTS) as InputName[]) {
    if (!NOT_COMPARED.includes(name)) out[name] = digest(platform.input(name));
  }
  for (const name of COMPARED_ENV) out[`env ${name}`] = digest(platform.env[name] ?? '');
  return out;
}

/** The names (inputs, or "env NAME") whose values differ between pre and now. */
export function changedSince(before: Record<string, string> | undefined, now: Record<string, string>): string[] {
  if (!before) return [];
  return Object.keys(now).filter((k) => k in before && before[k] !== now[k]);
}

export function restartNotice(changed: string[]): string {
  const inputs = changed.filter((c) => !c.startsWith('env ')).map((c) => `"${c}"`);
  const env = changed.filter((c) => c.startsWith('env ')).map((c) => c.slice(4));
  const what = [inputs.length ? `input${inputs.length > 1 ? 's' : ''} ${inputs.join(', ')}` : '', env.length ? `the environment variable${env.length > 1 ? 's' : ''} ${env.join(', ')}` : '']
    .filter(Boolean)
    .join(' and ');
  return (
    `setup-dind: ${what} had a different value when pre started the daemon (pre runs before any step, so values from steps.*, ` +
    'from GITHUB_ENV or from checked-out files are empty there). The daemon pre started is removed and started again with the values main sees; ' +
    "the head start of pre is lost. Give these inputs values known when the job starts (literals, vars.*, secrets.*, matrix.*, the job's env) to keep it."
  );
}
