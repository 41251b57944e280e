import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INIT_SCRIPT } from './dind-plan.js';
import { IPTABLES_CHOICE } from './iptables.js';

describe('the init script', () => {
  it('is valid POSIX sh, with the iptables choice before dockerd starts', () => {
    for (const shell of ['sh', 'dash', 'busybox']) {
      const args = shell === 'busybox' ? ['sh', '-n', '-c', INIT_SCRIPT] : ['-n', '-c', INIT_SCRIPT];
      const r = spawnSync(shell, args, { encoding: 'utf8' });
      if (r.error) continue; // that shell is not installed here
      expect(r.status, `${shell}: ${r.stderr}`).toBe(0);
    }
    expect(INIT_SCRIPT.indexOf(IPTABLES_CHOICE)).toBeGreaterThan(0);
    expect(INIT_SCRIPT.indexOf(IPTABLES_CHOICE)).toBeLessThan(INIT_SCRIPT.indexOf('exec "$@"'));
  });
});
