/**
 * A small, strict evaluator for GitHub Actions expressions (`${{ ... }}`), enough to run
 * action.yml input defaults, `with:` values, `env:` values, `run:` text and `if:` /
 * `pre-if:` / `post-if:` conditions the way actions/runner does.
 *
 * Supported:
 *  - literals: 'strings' (with '' escaping), numbers (incl. 0x hex), true, false, null
 *  - context access: `a.b.c`, `a['b']`, identifiers may contain `-` (`steps.my-step.outputs.x`)
 *  - operators: `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, parentheses
 *  - status functions: always(), success(), failure(), cancelled()
 *  - contains(), startsWith(), endsWith(), format(), toJSON() (indented by two spaces, like the runner's)
 *
 * Semantics mirror the GitHub docs / actions/runner Expressions2 SDK: `&&` / `||` return
 * operands, string comparisons ignore case, mismatched types are coerced to numbers,
 * property access on a missing value yields null.
 *
 * Anything outside that subset (unknown functions, unknown contexts, `*` filters, unknown
 * keys of the contexts the harness models strictly) THROWS, so a test notices instead of
 * silently getting ''.
 */

export type ExprValue = string | number | boolean | null | ContextDict | ExprValue[];

/** A context object (github, runner, env, steps, ...). */
export class ContextDict {
  private readonly entries = new Map<string, { key: string; value: ExprValue }>();

  /**
   * @param name           used in error messages (`github`, `steps.foo.outputs`, ...)
   * @param strict         unknown keys throw instead of yielding null
   * @param caseSensitive  `env` is case-sensitive on Linux; every other context is not
   */
  constructor(
    readonly name: string,
    values: Record<string, ExprValue> = {},
    readonly strict = false,
    readonly caseSensitive = false,
  ) {
    for (const [k, v] of Object.entries(values)) this.set(k, v);
  }

  private norm(key: string): string {
    return this.caseSensitive ? key : key.toLowerCase();
  }

  set(key: string, value: ExprValue): void {
    const n = this.norm(key);
    const existing = this.entries.get(n);
    this.entries.set(n, { key: existing ? existing.key : key, value });
  }

  has(key: string): boolean {
    return this.entries.has(this.norm(key));
  }

  get(key: string): ExprValue {
    const e = this.entries.get(this.norm(key));
    if (e) return e.value;
    if (this.strict) {
      throw new ExpressionError(
        `the harness does not model '${this.name}.${key}' (known: ${[...this.entries.values()].map((x) => x.key).join(', ')})`,
      );
    }
    return null;
  }

  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const { key, value } of this.entries.values()) o[key] = value;
    return o;
  }
}

export class ExpressionError extends Error {
  constructor(message: string) {
    super(`Expression error: ${message}`);
    this.name = 'ExpressionError';
  }
}

export type JobStatusValue = 'success' | 'failure' | 'cancelled';

export interface EvalContext {
  /** top-level named values: github, runner, job, env, steps, ... */
  contexts: Record<string, ExprValue>;
  /** job status for success()/failure()/cancelled(); status functions throw when absent */
  jobStatus?: JobStatusValue;
}

// ---------------------------------------------------------------------------------------------
// Lexer

type Tok =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'eof' };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '!', '<', '>', '(', ')', '[', ']', '.', ','];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionError(`unterminated string literal in '${src}'`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i];
        i++;
      }
      out.push({ t: 'str', v: s });
      continue;
    }
    const num = /^(?:-?0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num && (c !== '-' || /[\d.]/.test(src[i + 1] ?? ''))) {
      const text = num[0];
      const v = /0x/i.test(text) ? (text.startsWith('-') ? -parseInt(text.slice(3), 16) : parseInt(text.slice(2), 16)) : Number(text);
      out.push({ t: 'num', v });
      i += text.length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op });
      i += op.length;
      continue;
    }
    throw new ExpressionError(`unsupported character '${c}' in '${src}'`);
  }
  out.push({ t: 'eof' });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser

export type Node =
  | { k: 'lit'; v: ExprValue }
  | { k: 'named'; name: string }
  | { k: 'index'; obj: Node; key: Node }
  | { k: 'call'; name: string; args: Node[] }
  | { k: 'not'; e: Node }
  | { k: 'bin'; op: string; l: Node; r: Node };

const FUNCTIONS: Record<string, [number, number]> = {
  always: [0, 0],
  success: [0, 0],
  failure: [0, 0],
  cancelled: [0, 0],
  contains: [2, 2],
  startswith: [2, 2],
  endswith: [2, 2],
  format: [1, 255],
  tojson: [1, 1],
};
const STATUS_FUNCTIONS = new Set(['always', 'success', 'failure', 'cancelled']);

export function parseExpression(src: string): Node {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const isOp = (v: string): boolean => {
    const t = peek();
    return t.t === 'op' && t.v === v;
  };
  const expectOp = (v: string): void => {
    if (!isOp(v)) throw new ExpressionError(`expected '${v}' in '${src}'`);
    p++;
  };

  const parseOr = (): Node => {
    let l = parseAnd();
    while (isOp('||')) {
      p++;
      l = { k: 'bin', op: '||', l, r: parseAnd() };
    }
    return l;
  };
  const parseAnd = (): Node => {
    let l = parseEq();
    while (isOp('&&')) {
      p++;
      l = { k: 'bin', op: '&&', l, r: parseEq() };
    }
    return l;
  };
  const parseEq = (): Node => {
    let l = parseCmp();
    while (isOp('==') || isOp('!=')) {
      const op = (toks[p++] as { v: string }).v;
      l = { k: 'bin', op, l, r: parseCmp() };
    }
    return l;
  };
  const parseCmp = (): Node => {
    let l = parseUnary();
    while (isOp('<') || isOp('>') || isOp('<=') || isOp('>=')) {
      const op = (toks[p++] as { v: string }).v;
      l = { k: 'bin', op, l, r: parseUnary() };
    }
    return l;
  };
  const parseUnary = (): Node => {
    if (isOp('!')) {
      p++;
      return { k: 'not', e: parseUnary() };
    }
    return parsePostfix(parsePrimary());
  };
  const parsePrimary = (): Node => {
    const t = peek();
    if (t.t === 'str') {
      p++;
      return { k: 'lit', v: t.v };
    }
    if (t.t === 'num') {
      p++;
      return { k: 'lit', v: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      p++;
      const e = parseOr();
      expectOp(')');
      return e;
    }
    if (t.t === 'id') {
      p++;
      const lower = t.v.toLowerCase();
      if (isOp('(')) {
        p++;
        const arity = FUNCTIONS[lower];
        if (!arity) throw new ExpressionError(`function '${t.v}' is not supported by the harness (in '${src}')`);
        const args: Node[] = [];
        if (!isOp(')')) {
          args.push(parseOr());
          while (isOp(',')) {
            p++;
            args.push(parseOr());
          }
        }
        expectOp(')');
        if (args.length < arity[0] || args.length > arity[1]) {
          throw new ExpressionError(`wrong number of arguments to '${t.v}' in '${src}'`);
        }
        return { k: 'call', name: lower, args };
      }
      if (t.v === 'true') return { k: 'lit', v: true };
      if (t.v === 'false') return { k: 'lit', v: false };
      if (t.v === 'null') return { k: 'lit', v: null };
      return { k: 'named', name: t.v };
    }
    throw new ExpressionError(`unexpected token in '${src}'`);
  };
  const parsePostfix = (base: Node): Node => {
    let n = base;
    for (;;) {
      if (isOp('.')) {
        p++;
        const t = peek();
        if (t.t !== 'id') throw new ExpressionError(`expected a property name after '.' in '${src}'`);
        p++;
        n = { k: 'index', obj: n, key: { k: 'lit', v: t.v } };
      } else if (isOp('[')) {
        p++;
        const key = parseOr();
        expectOp(']');
        n = { k: 'index', obj: n, key };
      } else {
        return n;
      }
    }
  };

  const node = parseOr();
  if (peek().t !== 'eof') throw new ExpressionError(`unexpected trailing input in '${src}'`);
  return node;
}

/** True when the expression calls one of always()/success()/failure()/cancelled(). */
export function hasStatusFunction(n: Node): boolean {
  switch (n.k) {
    case 'call':
      return STATUS_FUNCTIONS.has(n.name) || n.args.some(hasStatusFunction);
    case 'index':
      return hasStatusFunction(n.obj) || hasStatusFunction(n.key);
    case 'not':
      return hasStatusFunction(n.e);
    case 'bin':
      return hasStatusFunction(n.l) || hasStatusFunction(n.r);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export function truthy(v: ExprValue): boolean {
  if (v === null || v === false || v === '' || v === 0) return false;
  if (typeof v === 'number' && Number.isNaN(v)) return false;
  return true;
}

function toNumber(v: ExprValue): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return 0;
    return Number(s);
  }
  return NaN;
}

/** Convert a value the way the runner converts expression results to strings. */
export function exprToString(v: ExprValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  return JSON.stringify(v, null, 2);
}

function sameKind(a: ExprValue, b: ExprValue): boolean {
  const kind = (x: ExprValue): string => (x === null ? 'null' : Array.isArray(x) ? 'array' : x instanceof ContextDict ? 'object' : typeof x);
  return kind(a) === kind(b);
}

function looseEquals(a: ExprValue, b: ExprValue): boolean {
  if (sameKind(a, b)) {
    if (typeof a === 'string' && typeof b === 'string') return a.toUpperCase() === b.toUpperCase();
    if (typeof a === 'number' && typeof b === 'number') return a === b;
    return a === b;
  }
  if (typeof a === 'object' && a !== null) return false;
  if (typeof b === 'object' && b !== null) return false;
  const x = toNumber(a);
  const y = toNumber(b);
  return !Number.isNaN(x) && !Number.isNaN(y) && x === y;
}

function compare(a: ExprValue, b: ExprValue): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toUpperCase();
    const y = b.toUpperCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = toNumber(a);
  const y = toNumber(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  return x < y ? -1 : x > y ? 1 : 0;
}

function lookupNamed(name: string, ctx: EvalContext): ExprValue {
  for (const [k, v] of Object.entries(ctx.contexts)) {
    if (k.toLowerCase() === name.toLowerCase()) return v;
  }
  throw new ExpressionError(
    `unknown named-value '${name}' (the harness provides: ${Object.keys(ctx.contexts).join(', ')})`,
  );
}

function statusOf(ctx: EvalContext, fn: string): JobStatusValue {
  if (!ctx.jobStatus) throw new ExpressionError(`'${fn}()' is not allowed here`);
  return ctx.jobStatus;
}

export function evaluateNode(n: Node, ctx: EvalContext): ExprValue {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'named':
      return lookupNamed(n.name, ctx);
    case 'index': {
      const obj = evaluateNode(n.obj, ctx);
      const key = evaluateNode(n.key, ctx);
      if (obj instanceof ContextDict) return obj.get(exprToString(key));
      if (Array.isArray(obj)) {
        const i = toNumber(key);
        return Number.isInteger(i) && i >= 0 && i < obj.length ? obj[i]! : null;
      }
      return null;
    }
    case 'not':
      return !truthy(evaluateNode(n.e, ctx));
    case 'bin': {
      if (n.op === '&&') {
        const l = evaluateNode(n.l, ctx);
        return truthy(l) ? evaluateNode(n.r, ctx) : l;
      }
      if (n.op === '||') {
        const l = evaluateNode(n.l, ctx);
        return truthy(l) ? l : evaluateNode(n.r, ctx);
      }
      const l = evaluateNode(n.l, ctx);
      const r = evaluateNode(n.r, ctx);
      switch (n.op) {
        case '==':
          return looseEquals(l, r);
        case '!=':
          return !looseEquals(l, r);
        case '<':
          return compare(l, r) < 0;
        case '<=':
          return compare(l, r) <= 0;
        case '>':
          return compare(l, r) > 0;
        case '>=':
          return compare(l, r) >= 0;
      }
      throw new ExpressionError(`unknown operator ${n.op}`);
    }
    case 'call': {
      const args = (): ExprValue[] => n.args.map((a) => evaluateNode(a, ctx));
      switch (n.name) {
        case 'always':
          return true;
        case 'success':
          return statusOf(ctx, n.name) === 'success';
        case 'failure':
          return statusOf(ctx, n.name) === 'failure';
        case 'cancelled':
          return statusOf(ctx, n.name) === 'cancelled';
        case 'contains': {
          const [hay, needle] = args();
          if (Array.isArray(hay)) return hay.some((x) => looseEquals(x, needle!));
          return exprToString(hay!).toUpperCase().includes(exprToString(needle!).toUpperCase());
        }
        case 'startswith': {
          const [a, b] = args();
          return exprToString(a!).toUpperCase().startsWith(exprToString(b!).toUpperCase());
        }
        case 'endswith': {
          const [a, b] = args();
          return exprToString(a!).toUpperCase().endsWith(exprToString(b!).toUpperCase());
        }
        case 'format': {
          const [fmt, ...rest] = args();
          return exprToString(fmt!).replace(/\{\{|\}\}|\{(\d+)\}/g, (m, i: string | undefined) => {
            if (m === '{{') return '{';
            if (m === '}}') return '}';
            const idx = Number(i);
            if (idx >= rest.length) throw new ExpressionError(`format(): index ${idx} out of range`);
            return exprToString(rest[idx]!);
          });
        }
        case 'tojson': {
          const [v] = args();
          return JSON.stringify(v ?? null, null, 2);
        }
      }
      throw new ExpressionError(`function '${n.name}' is not supported`);
    }
  }
}

export function evaluateExpression(src: string, ctx: EvalContext): ExprValue {
  return evaluateNode(parseExpression(src), ctx);
}

/** Split a template into literal text and `${{ expr }}` segments (`}}` inside '...' literals is fine). */
export function splitTemplate(text: string): Array<{ lit: string } | { expr: string }> {
  const parts: Array<{ lit: string } | { expr: string }> = [];
  let i = 0;
  for (;;) {
    const start = text.indexOf('${{', i);
    if (start < 0) {
      if (i < text.length) parts.push({ lit: text.slice(i) });
      return parts;
    }
    if (start > i) parts.push({ lit: text.slice(i, start) });
    let j = start + 3;
    let inStr = false;
    for (;;) {
      if (j >= text.length) throw new ExpressionError(`unterminated '\${{' in '${text}'`);
      const c = text[j];
      if (c === "'") inStr = !inStr;
      else if (!inStr && c === '}' && text[j + 1] === '}') break;
      j++;
    }
    parts.push({ expr: text.slice(start + 3, j) });
    i = j + 2;
  }
}

export function hasExpressions(text: string): boolean {
  return text.includes('${{');
}

/** Evaluate a string that may contain `${{ }}` segments to the final string value. */
export function evaluateTemplate(text: string, ctx: EvalContext): string {
  if (!hasExpressions(text)) return text;
  return splitTemplate(text)
    .map((p) => ('lit' in p ? p.lit : exprToString(evaluateExpression(p.expr, ctx))))
    .join('');
}

/**
 * Evaluate an `if:` condition like the runner: optional `${{ }}` wrapper, and when the
 * expression calls no status function it is implicitly `success() && (<condition>)`.
 */
export function evaluateCondition(condition: string | undefined, ctx: EvalContext): boolean {
  let src = (condition ?? '').trim();
  if (src === '') src = 'success()';
  if (hasExpressions(src)) {
    const parts = splitTemplate(src);
    if (parts.length !== 1 || !('expr' in parts[0]!)) {
      throw new ExpressionError(`the harness only supports an 'if' that is a single expression: '${condition}'`);
    }
    src = parts[0].expr;
  }
  const node = parseExpression(src);
  const effective: Node = hasStatusFunction(node)
    ? node
    : { k: 'bin', op: '&&', l: { k: 'call', name: 'success', args: [] }, r: node };
  return truthy(evaluateNode(effective, ctx));
}
