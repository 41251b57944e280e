// The init that replaces the official image's entrypoint chooses the iptables backend as docker's
// dockerd-entrypoint.sh does. Checked on the bed's Debian dind images, which ship both iptables-nft (the default
// alternative) and iptables-legacy, each in a container with a network namespace of its own.
import { describe, expect, it } from 'vitest';
import { IPTABLES_CHOICE } from '../../src/daemon/iptables.js';
import { runJob } from '../harness/runner.js';
import { DIND_IMAGE, actionNode, docker, outerHost, repoRoot } from './support.js';

const IMAGES = [DIND_IMAGE, 'local/dind:trixie'];

/** Runs `before`, then the init's iptables choice, then prints the iptables the daemon would use. */
async function choice(image: string, before: string, env: string[] = []): Promise<{ version: string; log: string }> {
  const script = `${before}\n${IPTABLES_CHOICE}\nexec "$@"`;
  const out = await docker(['run', '--rm', '--cap-add', 'NET_ADMIN', ...env.flatMap((e) => ['-e', e]), '--entrypoint', 'sh', image,
    '-c', `exec 2>&1; ${script.replace(/\n/g, '\n')}`, 'setup-dind-init', 'sh', '-c', 'echo "used: $(iptables --version)"']);
  const lines = out.trim().split('\n');
  return { version: lines.find((l) => l.startsWith('used: ')) ?? out, log: lines.filter((l) => l.startsWith('setup-dind: ')).join('\n') };
}

const haveImage = async (image: string) => (await docker(['images', '-q', image])).trim() !== '';

describe('the init\'s iptables choice (as docker\'s dockerd-entrypoint.sh)', () => {
  for (const image of IMAGES) {
    it(`${image}: the image's default (nft) in a fresh namespace; legacy when legacy tables are loaded, when asked, or when nft fails`, async (t) => {
      if (!(await haveImage(image))) t.skip(`${image} is not on the bed (SETUP_DIND_BED_SUITES="bookworm trixie" bash test/bed/bed.sh start builds it)`);
      const fresh = await choice(image, '');
      expect(fresh.version).toMatch(/^used: iptables v[\d.]+ \(nf_tables\)$/);
      expect(fresh.log).toMatch(/^setup-dind: iptables v[\d.]+ \(nf_tables\)$/);

      const loaded = await choice(image, 'iptables-legacy -t filter -nL >/dev/null');
      expect(loaded.version).toMatch(/^used: iptables v[\d.]+ \(legacy\)$/);
      expect(loaded.log).toMatch(/\(legacy\) \(legacy iptables tables are loaded\)$/);

      const asked = await choice(image, '', ['DOCKER_IPTABLES_LEGACY=1']);
      expect(asked.version).toMatch(/\(legacy\)$/);
      expect(asked.log).toMatch(/\(DOCKER_IPTABLES_LEGACY is set\)$/);
      const declined = await choice(image, 'iptables-legacy -t filter -nL >/dev/null', ['DOCKER_IPTABLES_LEGACY=']);
      expect(declined.version).toMatch(/\(nf_tables\)$/);

      // An nft that does not work (a kernel without nf_tables): legacy, because it works.
      const broken = await choice(image, 'mkdir -p /tmp/b && printf "#!/bin/sh\\n[ \\"\\$1\\" = --version ] && exec iptables-nft --version; exit 1\\n" > /tmp/b/iptables && chmod +x /tmp/b/iptables && export PATH=/tmp/b:$PATH');
      expect(broken.version).toMatch(/\(legacy\)$/);
      expect(broken.log).toMatch(/\(the default iptables does not work, legacy does\)$/);
    });
  }

  it('the job\'s daemon starts with the chosen backend and says which one in its log', async () => {
    const job = await runJob({
      actionDir: repoRoot,
      nodePath: actionNode(),
      env: { DOCKER_HOST: outerHost(), OUTER: outerHost() },
      with: { image: DIND_IMAGE },
      steps: [
        { name: 'nat', run: 'docker network create sd-nat >/dev/null && docker network rm sd-nat >/dev/null && echo ok' },
        { name: 'log', run: 'docker -H "$OUTER" logs ${{ steps.action.outputs.container-id }} 2>&1 | grep "^setup-dind: iptables"' },
      ],
    });
    try {
      expect(job.jobStatus, job.log).toBe('success');
      expect(job.phase('nat')!.stdout.trim()).toBe('ok');
      expect(job.phase('log')!.stdout.trim()).toMatch(/^setup-dind: iptables v[\d.]+ \(nf_tables\)$/);
    } finally {
      await job.cleanup();
    }
  });
});
