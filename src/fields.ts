// Reading raw text inputs while collecting problems: the small toolkit every capability's input parser uses
// (inputs.ts composes them). Generic over the input names, so a parser names only its own inputs and no folder has
// to import inputs.ts. Each input gets one clear problem: later checks of an input already reported stay quiet.
import { showValue } from './show.js';

export interface Fields<N extends string> {
  /** Every problem found so far, in the order found. */
  readonly problems: string[];
  /** The input's text as given ('' when it holds a NUL character, which is reported). */
  raw(name: N): string;
  /** Trimmed and on one line; a multi-line value is reported and the default is used. */
  line(name: N): string;
  /** One of `allowed` (compared in lower case); anything else is reported and the first is used. */
  oneOf<T extends string>(name: N, allowed: readonly T[]): T;
  /** true/false (yes/no, 1/0, on/off; empty is false); anything else is reported and gives undefined. */
  boolean(name: N): boolean | undefined;
  /** The input already has a problem: further checks of it would only repeat it. */
  reported(name: N): boolean;
  /** The input's default (as in action.yml). */
  defaultOf(name: N): string;
}

export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off', ''].includes(v)) return false;
  return undefined;
}

export function fieldsOf<N extends string>(read: (name: N) => string, defaults: Readonly<Record<N, string>>): Fields<N> {
  const problems: string[] = [];
  const reported = new Set<N>();
  const fields: Fields<N> = {
    problems,
    raw(name) {
      const value = read(name);
      if (value.includes('\0')) {
        problems.push(`input "${name}": ${showValue(value)} contains a NUL character; remove it`);
        return '';
      }
      return value;
    },
    line(name) {
      const value = fields.raw(name).trim();
      if (/[\r\n]/.test(value)) {
        problems.push(`input "${name}": ${showValue(value)} must be a single line; put the value on one line`);
        reported.add(name);
        return defaults[name];
      }
      return value;
    },
    oneOf(name, allowed) {
      const value = fields.line(name).toLowerCase();
      if (reported.has(name)) return allowed[0]!;
      if ((allowed as readonly string[]).includes(value)) return value as (typeof allowed)[number];
      problems.push(`input "${name}": ${showValue(value)} is not allowed; use one of ${allowed.join(', ')}`);
      return allowed[0]!;
    },
    boolean(name) {
      const text = fields.line(name);
      const value = parseBoolean(text);
      if (value === undefined && !reported.has(name)) problems.push(`input "${name}": ${showValue(text)} is not a boolean; use true or false`);
      return value;
    },
    reported: (name) => reported.has(name),
    defaultOf: (name) => defaults[name],
  };
  return fields;
}
