// A fixed port that something else holds on the job's side is refused at once, the way the runner's engine refuses
// it ("port is already allocated"): `docker run -p 8080:80` fails in the job's own step, naming the port, and the
// job's clients never go on to reach someone else's listener at 127.0.0.1:8080.
//
// How: dockerd starts its userland proxy for every published port before the container runs, and a proxy that
// answers "1\n<message>" on its fd 3 fails the start with that message (moby's portmapper: 20.10, 26, 28 alike).
// The daemon's init installs a small wrapper as dockerd's --userland-proxy-path: for a TCP port published on all
// addresses it asks the job's port forwarder, through files in the job directory (which the container sees at
// /run/setup-dind), to listen on that port on the job's side first; the forwarder answers "ok" (it listens now) or
// "taken" with the report. Then the wrapper runs the real docker-proxy with the same arguments and descriptors.
// Without an answer within 3 s (no forwarder), or without the claims directory, it changes nothing.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { showValue } from '../show.js';

/** The claims directory's name in the job directory (the forwarder creates it when it follows the daemon). */
export const CLAIMS_DIR = 'port-claims';
/** The environment variable that asks the daemon's init to install the wrapper. */
export const CLAIMS_ENV = 'SETUP_DIND_PORT_CLAIMS';
const WRAPPER = '/usr/local/bin/setup-dind-userland-proxy';

/** The wrapper: POSIX sh, fixed text (the port comes from dockerd's arguments and is checked to be a number). */
export const USERLAND_PROXY_WRAPPER = `#!/bin/sh
proto= hip= hport= prev=
for a in "$@"; do
  case "$prev" in -proto) proto=$a ;; -host-ip) hip=$a ;; -host-port) hport=$a ;; esac
  prev=$a
done
d=${'$'}{SETUP_DIND_CLAIMS_DIR:-/run/setup-dind/${CLAIMS_DIR}}
case "$hip" in 0.0.0.0 | :: | '') all=1 ;; *) all= ;; esac
case "$hport" in '' | *[!0-9]*) hport= ;; esac
if [ "$proto" = tcp ] && [ -n "$all" ] && [ -n "$hport" ] && [ -d "$d" ]; then
  id=$hport-$$
  : > "$d/$id.want"
  i=0
  while [ $i -lt 300 ]; do
    if [ -f "$d/$id.taken" ]; then
      msg=$(cat "$d/$id.taken"); rm -f "$d/$id.taken" "$d/$id.want"
      printf '1\\n%s' "$msg" >&3
      exit 1
    fi
    if [ -f "$d/$id.ok" ]; then rm -f "$d/$id.ok"; break; fi
    sleep 0.01; i=$((i + 1))
  done
  rm -f "$d/$id.want"
fi
exec docker-proxy "$@"
`;

/**
 * The daemon's init: with CLAIMS_ENV set, install the wrapper and give dockerd its path (appended to "$@"); when it
 * cannot be installed, dockerd keeps its own proxy and the forwarder's report is all there is.
 */
export const CLAIMS_INIT = `if [ -n "\${${CLAIMS_ENV}:-}" ]; then
  if (umask 022; mkdir -p ${WRAPPER.slice(0, WRAPPER.lastIndexOf('/'))} && cat > ${WRAPPER} <<'SETUP_DIND_WRAPPER'
${USERLAND_PROXY_WRAPPER}SETUP_DIND_WRAPPER
) 2>/dev/null && chmod 755 ${WRAPPER} 2>/dev/null; then set -- "$@" --userland-proxy-path=${WRAPPER}
  else echo "setup-dind: cannot install ${WRAPPER}; a port taken on the job's side is reported by the forwarder only" >&2; fi
fi
`;

/** The container's environment for the claims: none when the user set dockerd's userland proxy (theirs wins). */
export function claimsEnvironment(o: { forwardPorts: boolean; rootless: boolean; daemonArgs: string[]; daemonConfig: Record<string, unknown> }): string[] {
  if (!o.forwardPorts || o.rootless) return [];
  if (o.daemonArgs.some((a) => /^--userland-proxy/.test(a)) || Object.keys(o.daemonConfig).some((k) => k.startsWith('userland-proxy'))) return [];
  return [`${CLAIMS_ENV}=1`];
}

/** The report for a port that cannot be claimed (the engine prefixes it with the endpoint, naming the container). */
export function claimRefusal(port: number, reason: string): string {
  return (
    `port ${port} is already allocated on the job's host (127.0.0.1:${port}: ${reason}); setup-dind does not connect this job to another one's port. ` +
    `Publish another host port (-p <free port>:<container port>), or let the daemon choose one (-p <container port>) and read it with docker port`
  );
}

/** What the forwarder does for a claim: listen on the port now; undefined when it does, else why it cannot. */
export type Claim = (port: number) => Promise<string | undefined>;

/**
 * The forwarder's side: creates the claims directory, answers every claim the wrapper leaves there (an "ok" or a
 * "taken" file, written whole, then renamed into place), until the returned function is called (it removes the
 * directory, so a wrapper that comes later goes straight to docker-proxy).
 */
export function serveClaims(jobDir: string, claim: Claim, log: (line: string) => void, pollMs = 100): () => void {
  const dir = join(jobDir, CLAIMS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const busy = new Set<string>();
  const answer = async (name: string) => {
    const m = /^(\d{1,5})-(\d+)\.want$/.exec(name);
    if (!m || busy.has(name)) return;
    busy.add(name);
    const port = Number(m[1]);
    const id = `${m[1]}-${m[2]}`;
    let refusal: string | undefined;
    try {
      refusal = port >= 1 && port <= 65535 ? await claim(port) : `port ${showValue(m[1]!)} is not a port`;
    } catch (e) {
      refusal = claimRefusal(port, (e as Error).message);
    }
    try {
      const tmp = join(dir, `.${id}.tmp`);
      writeFileSync(tmp, refusal ?? '', { mode: 0o644 });
      renameSync(tmp, join(dir, `${id}.${refusal ? 'taken' : 'ok'}`));
      rmSync(join(dir, name), { force: true });
      if (refusal) log(`warning: ${refusal}`);
    } catch {
      /* the job directory is going away */
    } finally {
      busy.delete(name);
    }
  };
  const scan = () => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) if (name.endsWith('.want')) void answer(name);
  };
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(dir, scan);
    watcher.on('error', () => undefined);
  } catch {
    /* no inotify: the poll below answers */
  }
  const timer = setInterval(scan, pollMs);
  scan();
  return () => {
    clearInterval(timer);
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
