// What users do every day against the runner's engine, written once and run against the job's own daemon (dind)
// and, as the control, against the runner's engine itself (socket): bind mounts of the workspace (docker run and a
// compose file's relative path), containers that mount the daemon's socket, published ports at 127.0.0.1, the MTU
// of the network the daemon lives on, the job's proxy. After post nothing is left: no object, no forwarder.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../harness/runner.js';
import { BUSYBOX, DIND_IMAGE, actionNode, docker, expectNothingLeft, outerHost, picture, repoRoot, forwarders, refused } from './support.js';

const exec = promisify(execFile);
/** busybox plus the docker CLI: a container that talks to whatever socket it mounts. */
const CLI_IMAGE = 'local/dockercli:1';
const MTU_NETWORK = 'sd-like-runner-mtu1400';
const PORT = 18080;
const PROXY = 'http://proxy.invalid:3128';

/** Builds CLI_IMAGE from the docker binary on PATH, its shared libraries (if any) and busybox. */
async function buildCliImage(): Promise<void> {
  if ((await docker(['images', '-q', CLI_IMAGE])).trim()) return;
  const dir = mkdtempSync(join(tmpdir(), 'sd-cli-image-'));
  try {
    const { stdout: which } = await exec('sh', ['-c', 'command -v docker']);
    const binary = which.trim();
    const libs = await exec('ldd', [binary]).then((r) => r.stdout, () => '');
    const files = [...libs.matchAll(/(\/[^\s]+)/g)].map((m) => m[1]!);
    for (const f of [...files]) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      copyFileSync(f, join(dir, f));
    }
    mkdirSync(join(dir, 'bin'), { recursive: true });
    copyFileSync(binary, join(dir, 'bin', 'docker'));
    copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
    for (const a of ['sh', 'cat', 'echo', 'grep']) symlinkSync('busybox', join(dir, 'bin', a));
    const tarPath = `${dir}.tar`;
    await exec('tar', ['-C', dir, '-cf', tarPath, '.']);
    await exec('docker', ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', tarPath, CLI_IMAGE], { env: { ...process.env, DOCKER_HOST: outerHost() } });
    rmSync(tarPath, { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The MTU a container gets on the bed's default bridge: the network the runner's engine uses for `docker run`. */
let bridgeMtu = '';

beforeAll(async () => {
  await buildCliImage();
  if (!(await docker(['network', 'ls', '-q', '--filter', `name=^${MTU_NETWORK}$`])).trim()) {
    await docker(['network', 'create', '-o', 'com.docker.network.driver.mtu=1400', MTU_NETWORK]);
  }
  bridgeMtu = (await docker(['run', '--rm', BUSYBOX, 'cat', '/sys/class/net/eth0/mtu'])).trim();
}, 120_000);

afterAll(async () => {
  await docker(['network', 'rm', MTU_NETWORK]).catch(() => undefined);
});

/** A step's script: the command lines of the forwarder processes (the flag is assembled, so it never lists itself). */
const LIST_FORWARDERS = `const fs = require('fs'); const flag = '--setup-dind-' + 'forwarder';
for (const p of fs.readdirSync('/proc')) { try { const c = fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\\0'); if (c.includes(flag)) console.log(c.join(' ')); } catch {} }`;

/** Fetches a URL with node (the runner's), retrying for a few seconds (a server that has just started). */
const FETCH = `const u = process.argv[1]; (async () => { for (let i = 0; i < 50; i++) { try { const r = await fetch(u); console.log((await r.text()).trim()); return; } catch { await new Promise((r) => setTimeout(r, 100)); } } console.log('no answer at ' + u); process.exit(1); })()`;
const fetchLoop = (url: string) => `"$NODE" -e "$FETCH" ${url}`;

/** testcontainers (Node 20, the runner's usual Node) with no variable but the reaper's, which needs a registry. */
const TESTCONTAINERS = `const { GenericContainer } = require(process.env.TC_MODULE);
(async () => {
  const c = await new GenericContainer('${BUSYBOX}')
    .withCommand(['sh', '-c', 'mkdir -p /www && echo tc-answers > /www/index.html && exec httpd -f -p 80 -h /www'])
    .withExposedPorts(80)
    .start();
  const r = await fetch('http://' + c.getHost() + ':' + c.getMappedPort(80) + '/');
  console.log('testcontainers: ' + (await r.text()).trim());
  await c.stop();
})().catch((e) => { console.error(e); process.exit(1); });`;
const TC_MODULE = createRequire(join(repoRoot, 'package.json')).resolve('testcontainers');

const MODES = [
  { mode: 'dind', with: { image: DIND_IMAGE, network: MTU_NETWORK }, wellKnownSocket: '/var/run/docker.sock' },
  // The control: the runner's own engine. On the bed, its well-known socket is the bed's.
  { mode: 'socket', with: { mode: 'socket' }, wellKnownSocket: outerHost().replace(/^unix:\/\//, '') },
] as const;

describe.each(MODES)('like the runner\'s engine: mode $mode', ({ mode, with: withInputs, wellKnownSocket }) => {
  it('bind mounts, socket mounts, published ports, MTU and proxy behave as on the runner\'s engine; nothing is left', async () => {
    const before = await picture();
    const project = `sdlr${mode}`;
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost(), HTTPS_PROXY: PROXY, NO_PROXY: 'corp.example', WELL_KNOWN: wellKnownSocket, NODE: actionNode(), FETCH },
      with: withInputs,
      steps: [
        { name: 'images', run: `for i in ${BUSYBOX} ${CLI_IMAGE}; do docker -H "$OUTER" save $i | docker load -q; done` },
        { name: 'workspace', run: `echo written-by-a-step > "$GITHUB_WORKSPACE/data.txt"; docker run --rm -v "$GITHUB_WORKSPACE:/w" ${BUSYBOX} cat /w/data.txt` },
        {
          name: 'compose',
          run: [
            `printf 'version: "2.4"\\nservices:\\n  reader:\\n    image: ${BUSYBOX}\\n    volumes: ["./:/w"]\\n    command: ["cat", "/w/data.txt"]\\n' > docker-compose.yml`,
            `docker-compose -p ${project} run --rm reader; status=$?; docker-compose -p ${project} down -v >/dev/null 2>&1; exit $status`,
          ].join('\n'),
        },
        {
          name: 'sockets',
          run: [
            `docker run -d --name marker-${mode} ${BUSYBOX} sleep 60 >/dev/null`,
            `echo "via DOCKER_HOST's path:"; docker run --rm -v "\${DOCKER_HOST#unix://}:/var/run/docker.sock" ${CLI_IMAGE} docker ps --format '{{.Names}}'`,
            `echo "via the well-known path:"; docker run --rm -v "$WELL_KNOWN:/var/run/docker.sock" ${CLI_IMAGE} docker ps --format '{{.Names}}'`,
            `docker rm -f marker-${mode} >/dev/null`,
          ].join('\n'),
        },
        {
          name: 'ports',
          run: [
            // A fixed port, and one the daemon picks (testcontainers' way), both read back at 127.0.0.1.
            `serve='mkdir -p /www && echo port-answers > /www/index.html && exec httpd -f -p 80 -h /www'`,
            `docker run -d --name web-${mode} -p ${PORT}:80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
            `docker run -d --name web2-${mode} -p 80 ${BUSYBOX} sh -c "$serve" >/dev/null`,
            `echo "fixed: $(${fetchLoop(`http://127.0.0.1:${PORT}/`)})"`,
            `random=$(docker port web2-${mode} 80/tcp | head -n1 | sed 's/.*://')`,
            `echo "random $random: $(${fetchLoop('http://127.0.0.1:$random/')})"`,
            `docker rm -f web-${mode} web2-${mode} >/dev/null`,
          ].join('\n'),
        },
        { name: 'forwarder', run: `"$NODE" -e "$LIST_FORWARDERS"`, env: { LIST_FORWARDERS } },
        { name: 'mtu', run: `docker run --rm ${BUSYBOX} cat /sys/class/net/eth0/mtu` },
        { name: 'proxy', run: `docker info --format '{{.HTTPSProxy}}|{{.NoProxy}}'` },
        { name: 'testcontainers', run: 'node -e "$TC_SCRIPT"', env: { TC_SCRIPT: TESTCONTAINERS, TC_MODULE, TESTCONTAINERS_RYUK_DISABLED: 'true', TMPDIR: tmpdir() } },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('workspace')!.stdout.trim()).toBe('written-by-a-step');
      expect(job.phase('compose')!.stdout.trim()).toBe('written-by-a-step');
      const [viaHost, viaWellKnown] = job.phase('sockets')!.stdout.split("via the well-known path:");
      expect(viaHost).toContain(`marker-${mode}`);
      expect(viaWellKnown).toContain(`marker-${mode}`);
      const ports = job.phase('ports')!.stdout;
      expect(ports).toContain('fixed: port-answers');
      expect(ports).toMatch(/random \d+: port-answers/);
      // Inner containers get the MTU of the network the daemon lives on: 1400 for dind on the 1400 network, the
      // bridge's for the runner's engine.
      expect(job.phase('mtu')!.stdout.trim()).toBe(mode === 'dind' ? '1400' : bridgeMtu);
      // The job's proxy reaches the job's own daemon; the runner's engine keeps its own configuration.
      const [httpsProxy, noProxy] = job.phase('proxy')!.stdout.trim().split('|');
      if (mode === 'dind') {
        expect(httpsProxy).toBe(PROXY);
        expect(noProxy!.split(',')).toEqual(expect.arrayContaining(['corp.example', 'localhost', '127.0.0.0/8']));
        expect(job.outputs['daemon-address']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(job.phase('main')!.stdout).not.toMatch(/not forwarded/);
        // pre started the forwarder while the daemon booted: main only found it following.
        expect(job.phase('forwarder')!.stdout).toMatch(/\/dist\/pre\/index\.js --setup-dind-forwarder /);
        expect(job.exportedEnv.TESTCONTAINERS_HOST_OVERRIDE).toBe('127.0.0.1');
      } else {
        expect(httpsProxy).toBe('');
        expect(job.exportedEnv.TESTCONTAINERS_HOST_OVERRIDE).toBeUndefined();
      }
      expect(job.phase('testcontainers')!.stdout).toContain('testcontainers: tc-answers');
      expect(job.orphansKilled).toEqual([]);
      expect(forwarders()).toEqual([]);
      expect(await refused(PORT)).toBe(true);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  }, 240_000);
});

describe('inputs that differ between pre and main', () => {
  it('main restarts the daemon with its own values and says why', async () => {
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost() },
      with: { image: DIND_IMAGE, 'daemon-args': '${{ env.EXTRA_ARGS }}' },
      stepsBefore: [{ name: 'decide', run: 'echo "EXTRA_ARGS=--label=decided=by-a-step" >> "$GITHUB_ENV"' }],
      steps: [{ name: 'labels', run: `docker info --format '{{json .Labels}}'` }],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('main')!.stdout).toMatch(/input "daemon-args" had a different value when pre started the daemon/);
      expect(job.phase('labels')!.stdout).toContain('decided=by-a-step');
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  }, 180_000);
});

describe('like the runner\'s engine in a container job', () => {
  it('the workspace (a translated path) binds into nested containers, and published ports answer at 127.0.0.1 in the job container', async () => {
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      container: { image: DIND_IMAGE, dockerHost: outerHost() },
      with: { image: DIND_IMAGE },
      steps: [
        { name: 'load', run: `docker -H unix:///var/run/docker.sock save ${BUSYBOX} | docker load -q >/dev/null` },
        { name: 'workspace', run: `echo from-the-job-container > "$GITHUB_WORKSPACE/data.txt"; docker run --rm -v "$GITHUB_WORKSPACE:/w" ${BUSYBOX} cat /w/data.txt` },
        {
          name: 'ports',
          shell: 'bash',
          run: [
            `docker run -d --name web -p ${PORT}:80 ${BUSYBOX} sh -c 'mkdir -p /www && echo port-answers > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null`,
            // The job container has bash, not curl: a raw request over /dev/tcp.
            `for i in $(seq 1 50); do if exec 3<>/dev/tcp/127.0.0.1/${PORT}; then printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; out=$(cat <&3); exec 3<&-; case "$out" in *port-answers*) echo answered; break ;; esac; fi 2>/dev/null; sleep 0.1; done`,
            'docker rm -f web >/dev/null',
          ].join('\n'),
        },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('workspace')!.stdout.trim()).toBe('from-the-job-container');
      expect(job.phase('ports')!.stdout.trim()).toBe('answered');
      // In a container job nothing is exported (the runner's docker exec reads the step environment).
      expect(job.exportedEnv.TESTCONTAINERS_HOST_OVERRIDE).toBeUndefined();
      expect(forwarders()).toEqual([]);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  }, 180_000);
});

/** dockerd 24 and later (Debian trixie's docker.io 26, like the official image): networks created later get the MTU too. */
const TRIXIE = 'local/dind:trixie';
const haveTrixie = async () => Boolean((await docker(['images', '-q', TRIXIE]).catch(() => '')).trim());

describe('MTU with dockerd 24 or later', () => {
  it('applies to networks created later (compose), through default-network-opts', async (ctx) => {
    if (!(await haveTrixie())) ctx.skip(`${TRIXIE} is not built (SETUP_DIND_BED_SUITES="bookworm trixie")`);
    const before = await picture();
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      with: { image: TRIXIE, network: MTU_NETWORK },
      steps: [
        { name: 'load', run: `docker -H "$OUTER" save ${BUSYBOX} | docker load -q >/dev/null` },
        { name: 'mtu', run: `docker network create later >/dev/null; docker run --rm ${BUSYBOX} cat /sys/class/net/eth0/mtu; docker run --rm --network later ${BUSYBOX} cat /sys/class/net/eth0/mtu; docker network rm later >/dev/null` },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('mtu')!.stdout.trim().split('\n')).toEqual(['1400', '1400']);
      await expectNothingLeft(before);
    } finally {
      await job.cleanup();
    }
  }, 180_000);
});
