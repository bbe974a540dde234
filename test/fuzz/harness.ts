import { ERROR_CODES, TributaryError, type Executor, type QueryResult } from '../../src/index.js';
import type { FuzzTally } from '../support/fuzz-report.js';
import type { Expected } from './reference.js';
import type { Row } from './ref-values.js';

/**
 * Running one fuzzed case against the engine and judging the outcome against the reference:
 * a per-case timeout (a hang is a finding, not a stuck test run), the shape every rejection
 * must have, and row comparison in order or as multisets.
 */

export type Outcome =
  | { kind: 'rejected'; error: unknown; sync: boolean }
  | { kind: 'result'; result: QueryResult }
  | { kind: 'hung' };

export type Verdict = { kind: 'ok' } | { kind: 'crash' | 'hang' | 'mismatch'; detail: string };

/** Scales every suite's number of runs (`TRIBUTARY_FUZZ_SCALE=10` for a long soak). */
export const FUZZ_SCALE = Math.max(0.01, Number(process.env.TRIBUTARY_FUZZ_SCALE ?? '1') || 1);
export const runs = (n: number): number => Math.max(1, Math.round(n * FUZZ_SCALE));

/** Resolves with the promise's outcome, or 'hung' after `ms`. */
export async function settle<T>(promise: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a plan; a synchronous throw from `run()` is a rejection before anything ran. */
export async function runEngine(executor: Executor, plan: unknown, params: Record<string, unknown>, timeoutMs = 10_000): Promise<Outcome> {
  let run;
  try {
    run = executor.run(plan, { params });
  } catch (error) {
    return { kind: 'rejected', error, sync: true };
  }
  const settled = await settle(run.result, timeoutMs);
  if (settled === 'hung') {
    run.cancel('the fuzz case timed out');
    return { kind: 'hung' };
  }
  return settled.ok ? { kind: 'result', result: settled.value } : { kind: 'rejected', error: settled.error, sync: false };
}

/** What is wrong with an error that should be a well-formed TributaryError, if anything. */
export function errorProblem(error: unknown): string | undefined {
  if (!(error instanceof TributaryError)) return `not a TributaryError: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`;
  if (error.name !== 'TributaryError' && error.name !== 'FragmentError') return `name is ${error.name}`;
  if (!Object.prototype.hasOwnProperty.call(ERROR_CODES, error.code)) return `unknown code ${String(error.code)}`;
  if (!Array.isArray(error.issues) || error.issues.length === 0) return `no issues (${error.code}: ${error.message})`;
  if (error.issues.some((i) => typeof i?.path !== 'string' || typeof i?.message !== 'string')) return `an issue without a string path and message: ${JSON.stringify(error.issues)}`;
  return undefined;
}

/** A value as a canonical string: -0 is 0, NaN is NaN, object keys in their order. */
export function canon(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(canon).join(',')}]`;
  if (typeof value === 'object') return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${canon((value as Row)[k])}`).join(',')}}`;
  return `<${typeof value}>`;
}

function rowsDiffer(expected: Row[], actual: Row[], ordered: boolean): string | undefined {
  const e = expected.map(canon);
  const a = actual.map(canon);
  if (!ordered) {
    e.sort();
    a.sort();
  }
  if (e.length === a.length && e.every((x, i) => x === a[i])) return undefined;
  const show = (rows: string[]) => rows.slice(0, 30).join('\n    ');
  return `rows differ (${ordered ? 'in order' : 'as multisets'}): expected ${e.length}\n    ${show(e)}\n  actual ${a.length}\n    ${show(a)}`;
}

function judgeResult(expected: Expected, r: QueryResult): Verdict {
  const bad = r.errors.find((e) => !(e instanceof TributaryError));
  if (bad) return { kind: 'crash', detail: `result.errors holds ${String(bad)}` };
  const mismatch = (detail: string): Verdict => ({ kind: 'mismatch', detail });
  const errorText = r.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
  if (expected.kind === 'invalid') return mismatch(`ran a plan that must be rejected (${expected.why}); status ${r.status}`);
  if (expected.kind === 'failed') {
    if (r.status !== 'failed' || r.rows.length > 0) return mismatch(`expected a failed result (${expected.cause}), got ${r.status} with ${r.rows.length} rows; errors: ${errorText}`);
    const ok = expected.cause === 'merge'
      ? r.errors.some((e) => e.code === 'MERGE_FAILED')
      : r.errors.some((e) => expected.failed.includes((e as { fragmentId?: string }).fragmentId ?? ''));
    return ok ? { kind: 'ok' } : mismatch(`failed for another reason than the ${expected.cause} (${expected.failed.join(', ')}): ${errorText}`);
  }
  if (r.status !== expected.status) return mismatch(`status ${r.status}, expected ${expected.status}; errors: ${errorText}`);
  if (canon(r.columns) !== canon(expected.columns)) return mismatch(`columns ${canon(r.columns)}, expected ${canon(expected.columns)}`);
  const differ = rowsDiffer(expected.rows, r.rows, expected.ordered);
  if (differ) return mismatch(differ);
  for (const [id, f] of Object.entries(expected.fragments)) {
    const got = Object.prototype.hasOwnProperty.call(r.fragments, id) ? r.fragments[id] : undefined;
    if (got?.status !== f.status || (f.status === 'succeeded' && got.rowCount !== f.rowCount)) {
      return mismatch(`fragment ${id}: ${got?.status}/${got?.rowCount} rows, expected ${f.status}/${f.rowCount}`);
    }
  }
  const failed = Object.entries(expected.fragments).filter(([, f]) => f.status === 'failed').map(([id]) => id).sort();
  const reported = [...new Set(r.errors.map((e) => (e as { fragmentId?: string }).fragmentId).filter((id) => id !== undefined))].sort();
  if (canon(failed) !== canon(reported)) return mismatch(`errors name fragments ${canon(reported)}, expected ${canon(failed)}`);
  return { kind: 'ok' };
}

/**
 * Judges an outcome. `rejectionOk`: a validation rejection is fine even where the reference
 * could evaluate the plan (the engine's schema checks more than the reference's graph rules).
 */
export function judge(expected: Expected, outcome: Outcome, rejectionOk: boolean): Verdict {
  if (outcome.kind === 'hung') return { kind: 'hang', detail: 'the result did not settle in time' };
  if (outcome.kind === 'result') return judgeResult(expected, outcome.result);
  const problem = errorProblem(outcome.error);
  if (!(outcome.error instanceof TributaryError)) return { kind: 'crash', detail: problem ?? 'not a TributaryError' };
  const text = `${outcome.error.code}: ${outcome.error.message}`;
  if (problem) return { kind: 'mismatch', detail: `malformed rejection: ${problem}` };
  if (!outcome.sync) return { kind: 'mismatch', detail: `result rejected: ${text}` };
  if (outcome.error.name !== 'TributaryError') return { kind: 'mismatch', detail: `a plan rejection named ${outcome.error.name}` };
  if (expected.kind === 'invalid' || rejectionOk) return { kind: 'ok' };
  return { kind: 'mismatch', detail: `rejected a valid plan: ${text}` };
}

export function count(tally: FuzzTally, verdict: Verdict): void {
  tally.tried++;
  if (verdict.kind === 'crash') tally.crashed++;
  if (verdict.kind === 'hang') tally.hung++;
  if (verdict.kind === 'mismatch') tally.mismatched++;
}

/** JSON that keeps NaN, Infinity and -0 visible. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${String(Object.is(v, -0) ? '-0' : v)}` : typeof v === 'bigint' ? `${v}n` : v));
}

const protoNames = {
  object: Object.getOwnPropertyNames(Object.prototype).sort().join(),
  array: Object.getOwnPropertyNames(Array.prototype).sort().join(),
  func: Object.getOwnPropertyNames(Function.prototype).sort().join(),
};

/** A description of any prototype pollution, or undefined. */
export function pollution(): string | undefined {
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'x']) if (probe[key] !== undefined) return `({}).${key} is ${String(probe[key])}`;
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== protoNames.object) return 'Object.prototype gained or lost keys';
  if (Object.getOwnPropertyNames(Array.prototype).sort().join() !== protoNames.array) return 'Array.prototype gained or lost keys';
  if (Object.getOwnPropertyNames(Function.prototype).sort().join() !== protoNames.func) return 'Function.prototype gained or lost keys';
  return undefined;
}
