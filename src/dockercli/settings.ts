// The client input: its parser (inputs.ts composes it with the other capabilities').
import type { Fields } from '../fields.js';
import { showValue } from '../show.js';

export type ClientInputName = 'client';

/**
 * true: the job's steps get the dind image's docker CLI and plugins. Only dind has an image to take them from: in
 * socket and external mode the input is refused (the job keeps the runner's CLI, which is what it asked for there).
 */
export function parseClientSetting(f: Fields<ClientInputName>, mode: string): boolean {
  const enabled = f.boolean('client') ?? false;
  if (enabled && mode !== 'dind') {
    f.problems.push(
      `input "client": ${showValue(f.line('client'))} copies the docker CLI out of the dind image, and mode ${mode} runs no dind image; remove it (the job uses the runner's docker CLI) or use mode dind`,
    );
  }
  return enabled;
}
