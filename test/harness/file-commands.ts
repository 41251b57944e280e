// The file commands GITHUB_PATH / GITHUB_ENV / GITHUB_STEP_SUMMARY / GITHUB_STATE / GITHUB_OUTPUT, read after each step
// with the runner's parser (a malformed file fails the step). Moved from runner.ts (Job.processFileCommands).
import { promises as fsp } from 'node:fs';
import { parseKeyValueFile, parsePathFile } from './commands.js';
import type { PhaseResult } from './runner-types.js';
import type { StepSpec, Job } from './job.js';

export const FILE_COMMANDS = {
  path: 'add_path_',
  env: 'set_env_',
  step_summary: 'step_summary_',
  state: 'save_state_',
  output: 'set_output_',
} as const;

export const SUMMARY_LIMIT = 1024 * 1024;

export async function processFileCommands(
  job: Job,
  spec: StepSpec,
  result: PhaseResult,
  files: Record<keyof typeof FILE_COMMANDS, string>,
  fail: (m: string) => void,
): Promise<void> {
  const read = async (f: string): Promise<string | undefined> => {
    try {
      return await fsp.readFile(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  const guarded = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      fail(`Unable to process file command '${name}' successfully.`);
      fail((e as Error).message);
    }
  };
  await guarded('path', async () => {
    const text = await read(files.path);
    for (const line of parsePathFile(text ?? '')) {
      job.addPath(line);
      result.addedPath.push(line);
    }
  });
  await guarded('env', async () => {
    for (const [k, v] of parseKeyValueFile((await read(files.env)) ?? '')) {
      if (k.toUpperCase() === 'NODE_OPTIONS') {
        job.error(spec, result, "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.");
        continue;
      }
      job.setEnv(k, v);
      result.exportedEnv[k] = v;
    }
  });
  await guarded('step_summary', async () => {
    const text = (await read(files.step_summary)) ?? '';
    if (text.length === 0) return;
    if (Buffer.byteLength(text) > SUMMARY_LIMIT) {
      job.error(
        spec,
        result,
        `$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k, got ${Math.floor(Buffer.byteLength(text) / 1024)}k.`,
      );
      return;
    }
    const masked = text
      .split(/\r\n|\r|\n/)
      .map((l) => job.masker.mask(l))
      .join('\n');
    result.summary = masked;
    job.summary += masked;
  });
  await guarded('state', async () => {
    for (const [k, v] of parseKeyValueFile((await read(files.state)) ?? '')) job.saveState(spec, result, k, v);
  });
  await guarded('output', async () => {
    for (const [k, v] of parseKeyValueFile((await read(files.output)) ?? '')) result.outputs[k] = v;
  });
}
