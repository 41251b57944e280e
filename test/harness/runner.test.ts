import { promises as fsp } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKeyValueFile, parseCommandV2, RUNNER_COMMANDS, SecretMasker } from './commands.js';
import { ContextDict, evaluateCondition, evaluateTemplate, type EvalContext } from './expressions.js';
import { fakeEnv, fakeJobs, reportOf } from './fake-action.js';

const { job, cleanAll } = fakeJobs();
afterAll(cleanAll);

describe('inputs', () => {
  it('uses action.yml defaults, lets `with` override them, keeps hyphens, maps spaces to _', async () => {
    const r = await job({ with: { greeting: '  hi there  ', 'wait-timeout': '5' } });
    const inputs = reportOf(r.phase('main')!.stdout).inputs;
    expect(inputs['INPUT_GREETING']).toBe('  hi there  '); // nothing trimmed
    expect(inputs['INPUT_WAIT-TIMEOUT']).toBe('5');
    expect(inputs['INPUT_WITH_SPACE']).toBe('spaced');
    expect(inputs['INPUT_NUMBER']).toBe('30');
    expect(inputs['INPUT_NO-DEFAULT']).toBe('');
    expect(inputs['INPUT_TEMP-DIR']).toBe(`${r.runnerTemp}/fake`);
    expect(r.jobStatus).toBe('success');
    expect(r.phases.map((p) => [p.phase, p.conclusion])).toEqual([
      ['pre', 'success'],
      ['main', 'success'],
      ['post', 'success'],
    ]);
  });

  it('passes undeclared `with` keys with the runner warning, and evaluates expressions in `with`', async () => {
    const r = await job({ with: { bogus: 'x', greeting: '${{ github.job }}-${{ runner.os }}' }, jobName: 'build' });
    const inputs = reportOf(r.phase('main')!.stdout).inputs;
    expect(inputs['INPUT_BOGUS']).toBe('x');
    expect(inputs['INPUT_GREETING']).toBe('build-Linux');
    expect(r.annotations.some((a) => a.level === 'warning' && a.message.startsWith("Unexpected input(s) 'bogus'"))).toBe(true);
  });

  it('evaluates input defaults with the matrix and strategy contexts, as the runner does (null outside a matrix)', async () => {
    const extraInputs = `  matrix:\n    description: the leg\n    default: \${{ toJSON(matrix) }}\n  leg:\n    description: the index\n    default: \${{ strategy.job-index }}/\${{ strategy.job-total }}`;
    const r = await job({ fake: { extraInputs }, matrix: { values: { os: 'linux', node: 20 }, jobIndex: 1, jobTotal: 2 } });
    const inputs = reportOf(r.phase('pre')!.stdout).inputs;
    expect(inputs['INPUT_MATRIX']).toBe('{\n  "os": "linux",\n  "node": 20\n}');
    expect(inputs['INPUT_LEG']).toBe('1/2');
    const plain = await job({ fake: { extraInputs } });
    expect(reportOf(plain.phase('main')!.stdout).inputs['INPUT_MATRIX']).toBe('null');
    expect(reportOf(plain.phase('main')!.stdout).inputs['INPUT_LEG']).toBe('0/1');
  });

  it('throws on expressions the harness does not model', async () => {
    await expect(job({ with: { greeting: '${{ secrets.TOKEN }}' } })).rejects.toThrow(/unknown named-value 'secrets'/);
    await expect(job({ with: { greeting: '${{ github.nonsense }}' } })).rejects.toThrow(/does not model 'github.nonsense'/);
    await expect(job({ steps: [{ run: 'true', if: "hashFiles('x')" }] })).rejects.toThrow(/hashFiles/);
  });
});

describe('file commands, state and env', () => {
  it('passes state pre -> main -> post as STATE_*, and outputs of main become the action outputs', async () => {
    const r = await job({
      actionEnv: fakeEnv({
        pre: { state: { fromPre: 'p' } },
        main: { state: { fromMain: 'm' }, output: { 'docker-host': 'unix:///x.sock', multi: 'line1\nline2\n' } },
      }),
    });
    expect(reportOf(r.phase('pre')!.stdout).state).toEqual({});
    expect(reportOf(r.phase('main')!.stdout).state).toEqual({ STATE_fromPre: 'p' });
    expect(reportOf(r.phase('post')!.stdout).state).toEqual({ STATE_fromPre: 'p', STATE_fromMain: 'm' });
    expect(r.state).toEqual({ fromPre: 'p', fromMain: 'm' });
    expect(r.outputs).toEqual({ 'docker-host': 'unix:///x.sock', multi: 'line1\nline2\n' });
  });

  it('parses heredoc values in GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE exactly', async () => {
    const r = await job({
      actionEnv: fakeEnv({
        main: {
          env: { FAKE_VAR_ML: 'a\n  b  \n\nc' },
          output: { eq: 'x=y==z', empty: '' },
          state: { ml: 'one\ntwo' },
          raw: { OUTPUT: 'raw<<EOF\n\nEOF\n' },
        },
      }),
      steps: [{ run: 'printf "%s" "$FAKE_VAR_ML" > "$RUNNER_TEMP/ml.txt"' }],
    });
    expect(r.exportedEnv.FAKE_VAR_ML).toBe('a\n  b  \n\nc');
    expect(r.outputs).toEqual({ eq: 'x=y==z', empty: '', raw: '' });
    expect(reportOf(r.phase('post')!.stdout).state.STATE_ml).toBe('one\ntwo');
    expect(await fsp.readFile(`${r.runnerTemp}/ml.txt`, 'utf8')).toBe('a\n  b  \n\nc');
  });

  it('makes env exported by main and GITHUB_PATH entries visible to later steps and post', async () => {
    const r = await job({
      actionEnv: fakeEnv({ main: { env: { FAKE_VAR_A: 'from-main' }, path: ['/opt/fake/bin', '/opt/other/bin'] } }),
      steps: [{ id: 'check', run: 'echo "a=$FAKE_VAR_A" >> "$GITHUB_OUTPUT"; echo "path=$PATH" >> "$GITHUB_OUTPUT"' }],
    });
    const check = r.phase('check')!;
    expect(check.outputs.a).toBe('from-main');
    expect(check.outputs.path!.startsWith('/opt/other/bin:/opt/fake/bin:')).toBe(true);
    const post = reportOf(r.phase('post')!.stdout);
    expect(post.fake.FAKE_VAR_A).toBe('from-main');
    expect(post.path.startsWith('/opt/other/bin:/opt/fake/bin:')).toBe(true);
    expect(r.path).toEqual(['/opt/other/bin', '/opt/fake/bin']);
  });

  it('fails the step on a malformed file command (runner: "Unable to process file command")', async () => {
    const r = await job({ actionEnv: fakeEnv({ main: { raw: { OUTPUT: 'x<<EOF\nno end\n' } } }), steps: [{ run: 'true' }] });
    expect(r.phase('main')!.conclusion).toBe('failure');
    expect(r.phase('main')!.errors.join('\n')).toMatch(/Unable to process file command 'output'[\s\S]*Matching delimiter not found 'EOF'/);
    expect(r.phases[2]!.ran).toBe(false);
    expect(r.jobStatus).toBe('failure');
  });

  it('gives the action a clean env: no GITHUB_ACTION_PATH, no leaked DOCKER_HOST, but tracking id and CI', async () => {
    const prev = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///leak.sock';
    try {
      const r = await job({ env: { FAKE_VAR_JOB: 'j' } });
      const rep = reportOf(r.phase('main')!.stdout);
      expect(rep.has).toEqual({
        GITHUB_ACTION_PATH: null,
        DOCKER_HOST: null,
        RUNNER_TRACKING_ID: r.trackingId,
        GITHUB_ACTIONS: 'true',
        CI: 'true',
      });
      expect(rep.fake.FAKE_VAR_JOB).toBe('j');
      expect(rep.cwd).toBe(r.workspace);
      const env = r.phase('main')!.env;
      expect(env.GITHUB_ACTION_REPOSITORY).toBe('harness/action');
      expect(env.RUNNER_TEMP).toBe(r.runnerTemp);
      expect(env.GITHUB_STATE!.startsWith(`${r.runnerTemp}/_runner_file_commands/save_state_`)).toBe(true);
      expect(env.GITHUB_OUTPUT).not.toBe(r.phase('pre')!.env.GITHUB_OUTPUT); // fresh files per step
    } finally {
      if (prev === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = prev;
    }
  });
});

describe('job status and conditions', () => {
  it("evaluates `${{ job.status }}` per stage: 'success' in post normally", async () => {
    const r = await job();
    expect(reportOf(r.phase('main')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('success');
    expect(reportOf(r.phase('post')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('success');
  });

  it("sees 'failure' in post after a failing step, which also skips the following success() steps", async () => {
    const r = await job({
      steps: [
        { name: 'boom', run: 'exit 3' },
        { name: 'skipped', run: 'echo never' },
        { name: 'on-failure', if: 'failure()', run: 'echo handled' },
        { name: 'always', if: '${{ always() }}', run: 'echo always' },
      ],
    });
    expect(r.phase('boom')!.conclusion).toBe('failure');
    expect(r.phase('boom')!.exitCode).toBe(3);
    expect(r.phase('boom')!.errors).toContain('Process completed with exit code 3.');
    expect(r.phase('skipped')!.ran).toBe(false);
    expect(r.phase('on-failure')!.stdout).toBe('handled\n');
    expect(r.phase('always')!.ran).toBe(true);
    expect(reportOf(r.phase('main')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('success');
    expect(reportOf(r.phase('post')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('failure');
    expect(r.jobStatus).toBe('failure');
  });

  it('honours continue-on-error', async () => {
    const r = await job({ steps: [{ name: 'soft', run: 'exit 1', continueOnError: true }, { name: 'next', run: 'true' }] });
    expect(r.phase('soft')!.outcome).toBe('failure');
    expect(r.phase('soft')!.conclusion).toBe('success');
    expect(r.phase('next')!.ran).toBe(true);
    expect(r.jobStatus).toBe('success');
  });

  it('honours pre-if and post-if (a condition without a status function means success() && ...)', async () => {
    const r = await job({ fake: { runs: { 'pre-if': "runner.os == 'Windows'", 'post-if': "runner.os == 'linux'" } } });
    expect(r.phase('pre')!.ran).toBe(false);
    expect(r.phase('main')!.ran).toBe(true);
    expect(r.phase('post')!.ran).toBe(true); // string comparison ignores case

    const failed = await job({
      fake: { runs: { 'post-if': "runner.os == 'Linux'" } },
      steps: [{ run: 'false' }],
    });
    expect(failed.phase('post')!.ran).toBe(false); // implicit success() is false now
  });

  it('skipPre (and a local `uses: ./`) does not run pre; post still runs', async () => {
    const r = await job({ skipPre: true });
    expect(r.phases.map((p) => p.phase)).toEqual(['main', 'post']);
    const local = await job({ uses: './.github/actions/fake' });
    expect(local.phases.map((p) => p.phase)).toEqual(['main', 'post']);
    expect(local.phase('main')!.env.GITHUB_ACTION_REPOSITORY).toBeUndefined();
    expect(local.annotations.some((a) => a.message.includes('`pre` execution is not supported for local action'))).toBe(true);
  });

  it('a failing main fails the job and skips following steps, but post runs', async () => {
    const r = await job({
      actionEnv: fakeEnv({ main: { stderr: ['::error::daemon did not start'], exit: 1 } }),
      steps: [{ name: 'uses-docker', run: 'echo no' }],
    });
    expect(r.phase('main')!.conclusion).toBe('failure');
    expect(r.phase('uses-docker')!.ran).toBe(false);
    expect(r.phase('post')!.ran).toBe(true);
    expect(reportOf(r.phase('post')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('failure');
    expect(r.annotations).toContainEqual(expect.objectContaining({ phase: 'main', level: 'error', message: 'daemon did not start' }));
    expect(r.jobStatus).toBe('failure');
  });

  it('does not run post when neither pre nor main ran (the runner never registered it)', async () => {
    const r = await job({ skipPre: true, stepsBefore: [{ run: 'exit 1' }] });
    expect(r.phase('main')!.ran).toBe(false);
    expect(r.phase('post')!.ran).toBe(false);
    const withPre = await job({ stepsBefore: [{ run: 'exit 1' }] });
    expect(withPre.phase('pre')!.ran).toBe(true);
    expect(withPre.phase('main')!.ran).toBe(false);
    expect(withPre.phase('post')!.ran).toBe(true);
  });

  it('runs stepsBefore between pre and main, and exposes steps.<id>.outputs to later steps', async () => {
    const r = await job({
      actionEnv: fakeEnv({ main: { output: { 'docker-host': 'tcp://127.0.0.1:2376' } } }),
      stepsBefore: [{ name: 'checkout', run: 'sleep 0.1' }],
      steps: [{ id: 'use', run: 'echo "host=${{ steps.action.outputs.docker-host }}" >> "$GITHUB_OUTPUT"' }],
    });
    expect(r.phases.map((p) => p.name)).toEqual([
      'Pre Run harness/action@v0',
      'checkout',
      'Run harness/action@v0',
      r.phase('use')!.name,
      'Post Run harness/action@v0',
    ]);
    expect(r.phase('use')!.outputs.host).toBe('tcp://127.0.0.1:2376');
  });
});

describe('interruption', () => {
  it('signalMainAfterMs: main is cancelled, the job is cancelled, later steps skipped, post runs', async () => {
    const r = await job({
      actionEnv: fakeEnv({ main: { sleepMs: 10_000 } }),
      signalMainAfterMs: { signal: 'SIGTERM', afterMs: 300 },
      steps: [{ name: 'after', run: 'true' }, { name: 'if-cancelled', if: 'cancelled()', run: 'true' }],
    });
    const main = r.phase('main')!;
    expect(main.signal).toBe('SIGTERM');
    expect(main.signalsSent).toEqual(['SIGTERM']);
    expect(main.conclusion).toBe('cancelled');
    expect(main.durationMs).toBeLessThan(5000);
    expect(r.phase('after')!.ran).toBe(false);
    expect(r.phase('if-cancelled')!.ran).toBe(true);
    expect(r.phase('post')!.ran).toBe(true);
    expect(reportOf(r.phase('post')!.stdout).inputs['INPUT_JOB-STATUS']).toBe('cancelled');
    expect(r.jobStatus).toBe('cancelled');
  });

  it('cancel: the runner sends SIGINT first and the step ends cancelled', async () => {
    const r = await job({
      actionEnv: fakeEnv({ main: { sleepMs: 10_000, onSignal: { SIGINT: 130 } } }),
      // Late enough that the fake has set its handler even on a loaded machine; main sleeps 10 s.
      cancel: { afterMs: 1500 },
    });
    const main = r.phase('main')!;
    expect(main.signalsSent).toEqual(['SIGINT']);
    expect(main.stdout).toContain('got SIGINT');
    expect(main.exitCode).toBe(130);
    expect(main.conclusion).toBe('cancelled');
    expect(r.phase('post')!.ran).toBe(true);
    expect(r.jobStatus).toBe('cancelled');
  });

  it('cancel escalates SIGINT -> SIGTERM when SIGINT is ignored', async () => {
    const r = await job({
      fake: { noPost: true },
      actionEnv: fakeEnv({ main: { sleepMs: 10_000, onSignal: { SIGINT: null } } }),
      cancel: { afterMs: 1500, sigintTimeoutMs: 300, sigtermTimeoutMs: 2000 },
    });
    const main = r.phase('main')!;
    expect(main.stdout).toContain('got SIGINT');
    expect(main.signalsSent).toEqual(['SIGINT', 'SIGTERM']);
    expect(main.signal).toBe('SIGTERM');
    expect(main.conclusion).toBe('cancelled');
  });

  it('cancel leaves an always() step running', async () => {
    const r = await job({
      fake: { noPre: true, noPost: true },
      steps: [{ name: 'keeps-going', if: 'always()', run: 'sleep 1; echo done' }],
      cancel: { afterMs: 500, from: 'job' },
    });
    expect(r.jobStatus).toBe('cancelled');
    expect(r.phase('keeps-going')!.stdout).toBe('done\n');
    expect(r.phase('keeps-going')!.signalsSent).toEqual([]);
  });

  it('waits only streamCloseTimeoutMs for output held open by a spawned process, then orphan cleanup kills it', async () => {
    const r = await job({
      fake: { noPre: true, noPost: true },
      actionEnv: fakeEnv({ main: { holdStreams: true } }),
      streamCloseTimeoutMs: 300,
    });
    const main = r.phase('main')!;
    expect(main.conclusion).toBe('success');
    expect(main.outputStreamsHeldOpen).toBe(true);
    const holder = Number(/HOLDER (\d+)/.exec(main.stdout)![1]);
    expect(r.orphansKilled.map((o) => o.pid)).toContain(holder);
    expect(r.orphansKilled.find((o) => o.pid === holder)!.name).toBe('sleep');
  });

  it('kills a step that exceeds stepTimeoutMs and fails it', async () => {
    const r = await job({ fake: { noPre: true, noPost: true }, steps: [{ name: 'slow', run: 'sleep 30' }], stepTimeoutMs: 300 });
    const slow = r.phase('slow')!;
    expect(slow.timedOut).toBe(true);
    expect(slow.conclusion).toBe('failure');
    expect(slow.signalsSent[0]).toBe('SIGTERM');
    expect(r.jobStatus).toBe('failure');
  });
});

describe('workflow commands and the log', () => {
  it('collects masks, annotations and groups, and masks the display log like GitHub', async () => {
    const r = await job({
      fake: { noPre: true, noPost: true },
      actionEnv: fakeEnv({
        main: {
          stdout: [
            'before s3cr3t-value',
            '::add-mask::s3cr3t-value',
            'after s3cr3t-value',
            '::group::Starting daemon',
            '::warning file=a.ts,line=3::careful',
            '::endgroup::',
            '::set-output name=legacy::old-style',
            '::save-state name=legacyState::st',
          ],
        },
      }),
    });
    expect(r.masks).toEqual(['s3cr3t-value']);
    expect(r.displayLog).toContain('before s3cr3t-value'); // masks apply from their registration on
    expect(r.displayLog).toContain('after ***');
    expect(r.displayLog).not.toMatch(/^::add-mask::/m); // the command line itself is swallowed
    expect(r.displayLog).toContain('##[group]Starting daemon');
    expect(r.displayLog).toContain('##[warning]careful');
    expect(r.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', message: 'careful', properties: { file: 'a.ts', line: '3' } }),
    );
    expect(r.outputs.legacy).toBe('old-style');
    expect(r.state.legacyState).toBe('st');
    expect(r.log).toContain('::add-mask::s3cr3t-value'); // the raw log keeps everything
  });

  it('fails the step on the disabled set-env command', async () => {
    const r = await job({ fake: { noPre: true, noPost: true }, actionEnv: fakeEnv({ main: { stdout: ['::set-env name=X::y'] } }) });
    expect(r.phase('main')!.conclusion).toBe('failure');
    expect(r.phase('main')!.errors.join('\n')).toMatch(/`set-env` command is disabled/);
    expect(r.exportedEnv).toEqual({});
  });

  it('collects the step summary', async () => {
    const r = await job({ fake: { noPre: true, noPost: true }, actionEnv: fakeEnv({ main: { summary: '### dind\nok\n' } }) });
    expect(r.summary).toBe('### dind\nok\n');
  });
});


// ----------------------------------------------------------------------------------------------
// the building blocks

describe('parseKeyValueFile (runner EnvFileKeyValuePairs)', () => {
  it('handles name=value, heredocs, CR and empty lines like the runner', () => {
    expect(parseKeyValueFile('a=1\n\nb= 2 \nc<<X\nl1\r\nl2\nX\nd<<X\nX\n')).toEqual([
      ['a', '1'],
      ['b', ' 2 '],
      ['c', 'l1\r\nl2'],
      ['d', ''],
    ]);
    expect(() => parseKeyValueFile('no equals sign\n')).toThrow("Invalid format 'no equals sign'");
    expect(() => parseKeyValueFile('x<<EOF\nabc')).toThrow(/EOF marker missing new line|Matching delimiter not found/);
  });
});

describe('workflow command parsing and masking', () => {
  const reg = new Set(RUNNER_COMMANDS);
  it('parses ::cmd props::data with the runner unescaping', () => {
    expect(parseCommandV2('  ::error file=a%2Cb.ts,line=1::x%0Ay%25', reg)).toEqual({
      command: 'error',
      properties: { file: 'a,b.ts', line: '1' },
      data: 'x\ny%',
    });
    expect(parseCommandV2('::unknown::x', reg)).toBeNull();
  });
  it('masks values and their encodings', () => {
    const m = new SecretMasker();
    m.add('topsecret');
    expect(m.mask('a topsecret b')).toBe('a *** b');
    expect(m.mask(Buffer.from('topsecret').toString('base64'))).toBe('***');
    expect(m.mask('topsecrettopsecret')).toBe('***');
  });
});

describe('expressions', () => {
  const ctx = (status: 'success' | 'failure' | 'cancelled' = 'success'): EvalContext => ({
    contexts: {
      runner: new ContextDict('runner', { os: 'Linux' }, true),
      env: new ContextDict('env', { A: 'x' }, false, true),
      job: new ContextDict('job', { status }, true),
    },
    jobStatus: status,
  });
  it('evaluates conditions like the runner', () => {
    expect(evaluateCondition("runner.os == 'LINUX'", ctx())).toBe(true);
    expect(evaluateCondition("runner.os == 'Linux'", ctx('failure'))).toBe(false);
    expect(evaluateCondition('!cancelled()', ctx('failure'))).toBe(true);
    expect(evaluateCondition('${{ !cancelled() }}', ctx('cancelled'))).toBe(false);
    expect(evaluateCondition("failure() || env.A == 'x'", ctx())).toBe(true);
    expect(evaluateCondition('always()', ctx('cancelled'))).toBe(true);
    expect(() => evaluateCondition('fromJSON(x)', ctx())).toThrow(/not supported/);
  });
  it('evaluates templates', () => {
    expect(evaluateTemplate("${{ job.status }}/${{ env.A }}${{ env.MISSING }}/${{ format('{0}-{1}', 1, true) }}", ctx())).toBe(
      'success/x/1-true',
    );
    expect(() => evaluateTemplate('${{ runner.nope }}', ctx())).toThrow(/does not model 'runner.nope'/);
  });
});
