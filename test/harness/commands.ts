/**
 * Ports of the small pieces of actions/runner that interpret what a step writes:
 *  - file commands (GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE): `EnvFileKeyValuePairs`
 *    in src/Runner.Worker/FileCommandManager.cs
 *  - GITHUB_PATH: `AddPathFileCommand`
 *  - workflow commands on stdout/stderr (`::name k=v::data` and the legacy `##[name k=v;]data`):
 *    `ActionCommand.TryParseV2` / `TryParse` in src/Runner.Common/ActionCommand.cs
 *  - the secret masker (`SecretMasker` + the value encoders registered in HostContext.cs)
 */

/**
 * Parse a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file exactly like the runner:
 * `NAME=value` lines (value kept verbatim, nothing trimmed) and heredoc blocks
 * `NAME<<DELIM\n...\nDELIM`. Empty lines are skipped. Throws with the runner's messages on
 * malformed content (the runner then fails the step).
 */
export function parseKeyValueFile(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let index = 0;

  const readLine = (): { line: string | null; newline: string | null } => {
    if (index >= text.length) return { line: null, newline: null };
    const original = index;
    const lf = text.indexOf('\n', index);
    if (lf < 0) {
      index = text.length;
      return { line: text.slice(original), newline: null };
    }
    index = lf + 1;
    return { line: text.slice(original, lf), newline: '\n' };
  };

  let line = readLine().line;
  while (line !== null) {
    if (line !== '') {
      let key: string;
      let value: string;
      const equalsIndex = line.indexOf('=');
      const heredocIndex = line.indexOf('<<');
      if (equalsIndex >= 0 && (heredocIndex < 0 || equalsIndex < heredocIndex)) {
        key = line.slice(0, equalsIndex);
        value = line.slice(equalsIndex + 1);
      } else if (heredocIndex >= 0 && (equalsIndex < 0 || heredocIndex < equalsIndex)) {
        key = line.slice(0, heredocIndex);
        const delimiter = line.slice(heredocIndex + 2);
        if (key === '' || delimiter === '') {
          throw new Error(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`);
        }
        const startIndex = index;
        let endIndex = index;
        let r = readLine();
        while (r.line !== delimiter) {
          if (r.line === null) throw new Error(`Invalid value. Matching delimiter not found '${delimiter}'`);
          if (r.newline === null) throw new Error('Invalid value. EOF marker missing new line.');
          endIndex = index - r.newline.length;
          r = readLine();
        }
        value = endIndex > startIndex ? text.slice(startIndex, endIndex) : '';
      } else {
        throw new Error(`Invalid format '${line}'`);
      }
      out.push([key, value]);
    }
    line = readLine().line;
  }
  return out;
}

/** Lines of a GITHUB_PATH file as the runner reads them (File.ReadAllLines, empty lines skipped). */
export function parsePathFile(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '' && /(\r\n|\r|\n)$/.test(text)) lines.pop();
  return lines.filter((l) => l !== '');
}

export interface WorkflowCommand {
  command: string;
  /** property names as written; look them up with {@link commandProperty} (case-insensitive like the runner) */
  properties: Record<string, string>;
  data: string;
}

export function commandProperty(cmd: WorkflowCommand, name: string): string | undefined {
  for (const [k, v] of Object.entries(cmd.properties)) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}

const unescapeData = (s: string): string => s.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%');
const unescapeProperty = (s: string): string =>
  s
    .replaceAll('%0D', '\r')
    .replaceAll('%0A', '\n')
    .replaceAll('%3A', ':')
    .replaceAll('%2C', ',')
    .replaceAll('%25', '%');
const unescapeLegacy = (s: string): string =>
  s
    .replaceAll('%3B', ';')
    .replaceAll('%0D', '\r')
    .replaceAll('%0A', '\n')
    .replaceAll('%5D', ']')
    .replaceAll('%25', '%');

/** `ActionCommand.TryParseV2`: `::command k=v,k2=v2::data` (leading whitespace allowed). */
export function parseCommandV2(message: string, registered: Set<string>): WorkflowCommand | null {
  if (!message) return null;
  const m = message.trimStart();
  if (!m.startsWith('::')) return null;
  const endIndex = m.indexOf('::', 2);
  if (endIndex < 0) return null;
  const cmdInfo = m.slice(2, endIndex);
  const spaceIndex = cmdInfo.indexOf(' ');
  const name = spaceIndex < 0 ? cmdInfo : cmdInfo.slice(0, spaceIndex);
  if (!registered.has(name.toLowerCase())) return null;
  const properties: Record<string, string> = {};
  if (spaceIndex > 0) {
    for (const prop of cmdInfo.slice(spaceIndex + 1).trim().split(',').filter((x) => x !== '')) {
      const eq = prop.indexOf('=');
      if (eq <= 0 || eq === prop.length - 1) continue;
      properties[prop.slice(0, eq)] = unescapeProperty(prop.slice(eq + 1));
    }
  }
  return { command: name, properties, data: unescapeData(m.slice(endIndex + 2)) };
}

/** `ActionCommand.TryParse`: legacy `##[command k=v;k2=v2]data` anywhere in the line. */
export function parseCommandV1(message: string, registered: Set<string>): WorkflowCommand | null {
  if (!message) return null;
  const prefixIndex = message.indexOf('##[');
  if (prefixIndex < 0) return null;
  const rb = message.indexOf(']', prefixIndex);
  if (rb < 0) return null;
  const cmdInfo = message.slice(prefixIndex + 3, rb);
  const spaceIndex = cmdInfo.indexOf(' ');
  const name = spaceIndex < 0 ? cmdInfo : cmdInfo.slice(0, spaceIndex);
  if (!registered.has(name.toLowerCase())) return null;
  const properties: Record<string, string> = {};
  if (spaceIndex > 0) {
    for (const prop of cmdInfo.slice(spaceIndex + 1).split(';').filter((x) => x !== '')) {
      const eq = prop.indexOf('=');
      if (eq <= 0 || eq === prop.length - 1) continue;
      properties[prop.slice(0, eq)] = unescapeLegacy(prop.slice(eq + 1));
    }
  }
  return { command: name, properties, data: unescapeLegacy(message.slice(rb + 1)) };
}

/** The commands actions/runner registers (ActionCommandManager + its extensions). */
export const RUNNER_COMMANDS: readonly string[] = [
  'stop-commands',
  'set-env',
  'set-output',
  'save-state',
  'add-mask',
  'add-path',
  'add-matcher',
  'remove-matcher',
  'debug',
  'warning',
  'error',
  'notice',
  'group',
  'endgroup',
  'echo',
];

/**
 * The runner's secret masker: every registered value, plus its encoded variants (base64 with 0/1/2
 * byte shifts, JSON string escaping, URI data escaping, XML escaping, `"` -> `\"`, trimmed double
 * quotes), is replaced by `***`; overlapping or adjacent hits merge into one `***`.
 * (The two PowerShell '&' encoders of the runner are omitted.)
 */
export class SecretMasker {
  private readonly originals = new Set<string>();
  private readonly values = new Set<string>();

  add(value: string): void {
    if (!value || this.originals.has(value)) return;
    this.originals.add(value);
    for (const v of [value, ...encodings(value)]) if (v) this.values.add(v);
  }

  /** The original (un-encoded) values registered so far. */
  get secrets(): string[] {
    return [...this.originals];
  }

  mask(input: string): string {
    if (!input || this.values.size === 0) return input;
    const positions: Array<[number, number]> = [];
    for (const v of this.values) {
      let start = 0;
      while (start < input.length && input.length - start >= v.length) {
        const i = input.indexOf(v, start);
        if (i < 0) break;
        positions.push([i, i + v.length]);
        start = i + 1;
      }
    }
    if (positions.length === 0) return input;
    positions.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const p of positions) {
      const last = merged[merged.length - 1];
      if (last && p[0] <= last[1]) last[1] = Math.max(last[1], p[1]);
      else merged.push([p[0], p[1]]);
    }
    let out = '';
    let idx = 0;
    for (const [s, e] of merged) {
      out += input.slice(idx, s) + '***';
      idx = e;
    }
    return out + input.slice(idx);
  }
}

function encodings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const shifted = (n: number): string =>
    (bytes.length > n ? bytes.subarray(n) : bytes).toString('base64');
  const json = JSON.stringify(value).slice(1, -1);
  const xml = value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
  const trimmedQuotes = value.length > 8 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : '';
  let uri = '';
  try {
    uri = encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  } catch {
    uri = '';
  }
  return [
    bytes.toString('base64'),
    shifted(1),
    shifted(2),
    value.replaceAll('"', '\\"'),
    value.replaceAll("'", "''"),
    json,
    uri,
    xml,
    trimmedQuotes,
  ];
}
