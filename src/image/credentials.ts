// The runner's own registry credentials for pulling the dind image, found as the docker CLI finds them: a credential
// helper for that registry (credHelpers), else the credential store (credsStore), else auths in config.json.
import { execFile } from 'node:child_process';
import { dockerConfigDir, readDockerConfig } from '../endpoint/docker-config.js';
import { authKey } from './reference.js';

/** What the engine's X-Registry-Auth carries. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

/** Where credentials came from, for the log (never the secret). */
export interface FoundAuth {
  auth: RegistryAuth;
  source: string;
}

type Helper = (name: string, serverAddress: string) => Promise<string>;

/** A helper's name as config.json gives it: a plain name, never a path (docker runs docker-credential-<name>). */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The helper's program: docker-credential-<name>, for a plain name only (never a path). */
function helperProgram(name: string): string {
  if (!HELPER_NAME.test(name)) throw new Error(`the credential helper ${JSON.stringify(name)} in the docker config is not a helper name; fix credHelpers or credsStore`);
  return 'docker-credential-' + name;
}

/** Runs docker-credential-<name> get with the server address on stdin (the helper protocol); no shell. */
const runHelper: Helper = (name, serverAddress) =>
  new Promise((resolve, reject) => {
    const child = execFile(helperProgram(name), ['get'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker-credential-${name} get failed: ${(stderr || stdout || error.message).trim()}`));
      else resolve(stdout);
    });
    child.stdin?.end(serverAddress);
  });

async function fromHelper(name: string, key: string, helper: Helper): Promise<RegistryAuth | undefined> {
  helperProgram(name); // a name that is no plain name is an error here, with any helper
  let text: string;
  try {
    text = await helper(name, key);
  } catch (e) {
    // "credentials not found in native keychain" is an answer: nothing stored for this registry.
    if (/not found/i.test((e as Error).message)) return undefined;
    throw e;
  }
  const parsed = JSON.parse(text) as { Username?: string; Secret?: string };
  if (!parsed.Secret) return undefined;
  return parsed.Username === '<token>' ? { identitytoken: parsed.Secret, serveraddress: key } : { username: parsed.Username, password: parsed.Secret, serveraddress: key };
}

function fromAuths(entry: { auth?: string; username?: string; password?: string; identitytoken?: string }, key: string): RegistryAuth | undefined {
  if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: key };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: key };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, serveraddress: key };
  return undefined;
}

/** The runner user's credentials for `registry`, or undefined; a helper that fails is an error naming it. */
export async function runnerCredentials(registry: string, env: Readonly<Record<string, string | undefined>>, helper: Helper = runHelper): Promise<FoundAuth | undefined> {
  const configDir = dockerConfigDir(env);
  const config = readDockerConfig(configDir);
  const key = authKey(registry);
  const where = `${configDir}/config.json`;
  const named = config.credHelpers?.[registry] ?? config.credHelpers?.[key];
  if (named) {
    const auth = await fromHelper(named, key, helper);
    return auth && { auth, source: `docker-credential-${named} (credHelpers in ${where})` };
  }
  const entry = config.auths?.[key] ?? config.auths?.[registry];
  if (config.credsStore) {
    const auth = await fromHelper(config.credsStore, key, helper).catch((e: Error) => {
      if (entry) return undefined; // the store failed, auths may still hold them
      throw e;
    });
    if (auth) return { auth, source: `docker-credential-${config.credsStore} (credsStore in ${where})` };
  }
  const auth = entry && fromAuths(entry, key);
  return auth && { auth, source: `auths in ${where}` };
}
