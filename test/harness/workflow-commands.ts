// Workflow commands on a step's stdout/stderr (::add-mask::, ::group::, ::error::, set-output, …): the runner's
// ActionCommandManager + OutputManager for one step. Moved from runner.ts.
import { RUNNER_COMMANDS, commandProperty, parseCommandV1, parseCommandV2, type WorkflowCommand } from './commands.js';
import type { PhaseResult } from './runner-types.js';
import type { StepSpec, Job } from './job.js';

/** ActionCommandManager + OutputManager for one step (stop-commands and echo state are per step). */
export class CommandProcessor {
  failed = false;
  private readonly registered = new Set(RUNNER_COMMANDS.map((c) => c.toLowerCase()));
  private stopToken: string | undefined;
  private echo = false;

  constructor(
    private readonly job: Job,
    private readonly spec: StepSpec,
    private readonly result: PhaseResult,
    private readonly envCtx: Record<string, string>,
  ) {}

  line(line: string): void {
    if (line !== '' && (line.includes('##[') || line.includes('::')) && this.tryCommand(line)) return;
    const safe = line.replaceAll('##[start-action', '##[\\start-action').replaceAll('##[end-action', '##[\\end-action');
    this.job.display(safe);
  }

  private unsecureAllowed(): boolean {
    const v = process.env.ACTIONS_ALLOW_UNSECURE_COMMANDS ?? this.envCtx.ACTIONS_ALLOW_UNSECURE_COMMANDS;
    return (v ?? '').trim().toLowerCase() === 'true';
  }

  private fail(message: string): void {
    this.failed = true;
    this.job.error(this.spec, this.result, message);
  }

  private tryCommand(input: string): boolean {
    const cmd: WorkflowCommand | null = parseCommandV2(input, this.registered) ?? parseCommandV1(input, this.registered);
    if (!cmd) return false;
    const name = cmd.command.toLowerCase();

    if (this.stopToken !== undefined) {
      if (name === this.stopToken.toLowerCase()) {
        this.job.display(input);
        this.registered.delete(this.stopToken.toLowerCase());
        this.stopToken = undefined;
        return true;
      }
      return false;
    }

    if (name === 'stop-commands') {
      const token = cmd.data;
      if (!token || this.registered.has(token.toLowerCase()) || token.toLowerCase() === 'pause-logging') {
        this.fail(
          'Invalid stop-commands token: the token must not be empty, a registered command or pause-logging (set ACTIONS_ALLOW_UNSECURE_STOP_COMMANDS to allow).',
        );
        return true;
      }
      this.stopToken = token;
      this.registered.add(token.toLowerCase());
      if (token.length > 6) this.job.masker.add(token);
      this.job.display(input);
      return true;
    }

    const omitEcho = ['add-mask', 'debug', 'warning', 'error', 'notice'].includes(name);
    if (this.echo && !omitEcho) this.job.display(input);
    try {
      this.process(name, cmd);
    } catch (e) {
      this.fail(`Unable to process command '${omitEcho ? name : input}' successfully.`);
      this.fail((e as Error).message);
    }
    return true;
  }

  private process(name: string, cmd: WorkflowCommand): void {
    const job = this.job;
    switch (name) {
      case 'add-mask': {
        if (cmd.data.trim() === '') {
          job.annotate(this.spec, 'warning', "Can't add secret mask for empty string in ##[add-mask] command.", {});
          return;
        }
        if (this.echo) job.display('::add-mask::***');
        job.masker.add(cmd.data);
        for (const part of cmd.data.split(/[\r\n]+/).map((s) => s.trim()).filter((s) => s !== '')) job.masker.add(part);
        return;
      }
      case 'debug':
        if (job.opts.debug) job.display(`##[debug]${cmd.data}`);
        return;
      case 'warning':
      case 'error':
      case 'notice':
        job.annotate(this.spec, name, cmd.data, { ...cmd.properties });
        return;
      case 'group':
        job.display(`##[group]${cmd.data}`);
        return;
      case 'endgroup':
        job.display('##[endgroup]');
        return;
      case 'echo': {
        const v = cmd.data.trim().toUpperCase();
        if (v === 'ON') this.echo = true;
        else if (v === 'OFF') this.echo = false;
        else throw new Error(`Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '${cmd.data}'.`);
        return;
      }
      case 'set-output': {
        const n = commandProperty(cmd, 'name');
        if (!n) throw new Error("Required field 'name' is missing in ##[set-output] command.");
        this.result.outputs[n] = cmd.data;
        return;
      }
      case 'save-state': {
        const n = commandProperty(cmd, 'name');
        if (!n) throw new Error("Required field 'name' is missing in ##[save-state] command.");
        job.saveState(this.spec, this.result, n, cmd.data);
        return;
      }
      case 'set-env':
      case 'add-path': {
        if (!this.unsecureAllowed()) {
          throw new Error(
            `The \`${name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/`,
          );
        }
        if (name === 'add-path') {
          if (!cmd.data) throw new Error("Parameter 'path' cannot be null or empty.");
          job.addPath(cmd.data);
          this.result.addedPath.push(cmd.data);
        } else {
          const n = commandProperty(cmd, 'name');
          if (!n) throw new Error("Required field 'name' is missing in ##[set-env] command.");
          if (n.toUpperCase() === 'NODE_OPTIONS') {
            job.error(this.spec, this.result, "Can't update NODE_OPTIONS environment variable using ::set-env:: command.");
            return;
          }
          job.setEnv(n, cmd.data);
          this.result.exportedEnv[n] = cmd.data;
        }
        return;
      }
      case 'add-matcher':
      case 'remove-matcher':
        return; // problem matchers are not modelled
    }
  }
}
