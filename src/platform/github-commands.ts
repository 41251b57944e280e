// GitHub Actions workflow commands, the few the action issues, written directly: @actions/core loads an HTTP client
// (undici) at start-up for OIDC tokens the action never asks for, and every phase of every job paid for parsing it.
// The formats are the runner's (the same bytes @actions/core writes): `::name prop=value::message` lines on stdout,
// and `name<<delimiter` records in the files GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STATE name.
import { randomUUID } from 'node:crypto';
import { accessSync, appendFileSync, constants, existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { EOL } from 'node:os';

type Env = Readonly<Record<string, string | undefined>>;

const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::command prop=value,...::message`, escaped as the runner expects. */
export function formatCommand(command: string, properties: Record<string, string>, message: string): string {
  const props = Object.entries(properties).filter(([, v]) => v).map(([k, v]) => `${k}=${escapeProperty(v)}`).join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

export function issueCommand(command: string, properties: Record<string, string>, message: string): void {
  process.stdout.write(formatCommand(command, properties, message) + EOL);
}

/** A `name<<delimiter` record; the random delimiter must not occur in the name or the value. */
export function keyValueRecord(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter)) throw new Error(`Unexpected input: ${name} contains the delimiter "${delimiter}"`);
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}`;
}

/**
 * Writes `name=value` to the runner's file for `kind` (OUTPUT, ENV, STATE); without such a file (an old runner), the
 * stdout command `fallback` does it.
 */
function fileCommand(env: Env, kind: 'OUTPUT' | 'ENV' | 'STATE', fallback: string, name: string, value: string): void {
  const file = env[`GITHUB_${kind}`];
  if (!file) {
    if (kind === 'OUTPUT') process.stdout.write(EOL);
    issueCommand(fallback, { name }, value);
    return;
  }
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`);
  appendFileSync(file, `${keyValueRecord(name, value)}${EOL}`, { encoding: 'utf8' });
}

export const setOutput = (env: Env, name: string, value: string) => fileCommand(env, 'OUTPUT', 'set-output', name, value);
export const saveState = (env: Env, name: string, value: string) => fileCommand(env, 'STATE', 'save-state', name, value);

export function exportVariable(env: Env, name: string, value: string): void {
  // Later code in this process sees it too, as with @actions/core.
  process.env[name] = value;
  fileCommand(env, 'ENV', 'set-env', name, value);
}

/** GITHUB_PATH: `dir` goes first on PATH for later steps (and for this process, as with @actions/core). */
export function addPath(env: Env, dir: string): void {
  process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
  const file = env.GITHUB_PATH;
  if (!file) {
    issueCommand('add-path', {}, dir);
    return;
  }
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`);
  appendFileSync(file, `${dir}${EOL}`, { encoding: 'utf8' });
}

export async function appendSummary(env: Env, markdown: string): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) throw new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.');
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch {
    throw new Error(`Unable to access summary file: '${file}'. Check if the file has correct read/write permissions.`);
  }
  await appendFile(file, markdown, { encoding: 'utf8' });
}

export async function group<T>(title: string, fn: () => Promise<T>): Promise<T> {
  issueCommand('group', {}, title);
  try {
    return await fn();
  } finally {
    issueCommand('endgroup', {}, '');
  }
}
