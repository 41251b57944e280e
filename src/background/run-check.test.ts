import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCheckVerdict } from './run-check.js';

describe('the early run check', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-check-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the verdict the background check wrote', async () => {
    const result = join(dir, 'result.json');
    writeFileSync(result, JSON.stringify({ ok: false, error: 'operation not permitted', ms: 321 }));
    expect(await runCheckVerdict({ pid: 1, result }, () => true)).toEqual({ ok: false, error: 'operation not permitted', ms: 321 });
  });

  it('waits while the check runs, and reads the verdict once it is there', async () => {
    const result = join(dir, 'result.json');
    let polls = 0;
    const verdict = runCheckVerdict({ pid: 1, result }, () => {
      if (++polls === 3) writeFileSync(result, JSON.stringify({ ok: true, ms: 12 }));
      return true;
    });
    expect(await verdict).toEqual({ ok: true, ms: 12 });
    expect(polls).toBeGreaterThanOrEqual(3);
  });

  it('has no verdict when the check is gone without one (main then probes itself)', async () => {
    expect(await runCheckVerdict({ pid: 1, result: join(dir, 'never.json') }, () => false)).toBeUndefined();
  });

  it('takes a verdict written just before the process ended', async () => {
    const result = join(dir, 'result.json');
    const verdict = runCheckVerdict({ pid: 1, result }, () => {
      writeFileSync(result, JSON.stringify({ ok: true, ms: 5 }));
      return false;
    });
    expect(await verdict).toEqual({ ok: true, ms: 5 });
  });
});
