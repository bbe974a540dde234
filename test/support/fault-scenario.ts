import { expect } from 'vitest';
import { FragmentError, TributaryError, type ErrorCode } from '../../src/errors.js';
import type { Executor } from '../../src/executor.js';
import type { Plan } from '../../src/plan/index.js';
import type { ExecutionEvent } from '../../src/progress/events.js';
import type { QueryResult } from '../../src/run/index.js';
import type { QueryRun, RunOptions } from '../../src/run/index.js';
import type { Row } from '../../src/data/row.js';
import { compareRows, recordScenario, retriesOnNonRetryable, type Outcome, type ScenarioReport, type ScenarioServer } from './fault-metrics.js';
import { eventually } from './servers.js';

/**
 * The fault suite's one scenario runner, in the spirit of Trino's failure-recovery tests:
 * run a plan fault-free (the baseline), arm a fault, run it again, heal, and check that
 * the query ended in time, that its rows equal the baseline (none lost, none duplicated)
 * or that it reports `partial` / `failed` naming the fragment and the cause, that nothing
 * is left running on the server, that the pool still answers, and that no retry was spent
 * on a non-retryable error. Each scenario appends one JSON line to the file named by
 * `TRIBUTARY_FAULTS_REPORT` (what `npm run faults` sums up).
 *
 * @example
 * await runScenario({
 *   name: 'postgres: connection reset mid-result, once', server: 'postgres',
 *   executor: faultExecutor({ pg }), plan, expect: 'recovered',
 *   inject: () => proxy.resetAfter(2000, { once: true }), heal: () => proxy.heal(),
 *   statementsRunning: () => pgRunning(admin, tag),
 * });
 */

export { unhandledRejections, compareRows, retriesOnNonRetryable } from './fault-metrics.js';
export { faultExecutor, probeSource } from './fault-executor.js';
export type { Outcome, ScenarioReport, ScenarioServer } from './fault-metrics.js';

/** What a scenario's hooks and checks see. */
export interface ScenarioContext {
  baseline: Row[];
  events: ExecutionEvent[];
  /** The faulty run's result; undefined when it was refused before it started, or hung. */
  result: QueryResult | undefined;
  /** The error the faulty run was refused or rejected with, if any. */
  error: TributaryError | undefined;
  durationMs: number;
}

export interface ScenarioSpec {
  name: string;
  server: ScenarioServer;
  /** The executor under test; the helper closes it at the end. */
  executor: Executor;
  /** Runs the baseline instead of `executor` (when the faulty executor's limits would refuse it). */
  baselineExecutor?: Executor;
  plan: Plan;
  runOptions?: RunOptions;
  /** Starts the faulty run when it is not simply `executor.run(plan, runOptions)`. */
  faultRun?: () => QueryRun;
  /** Arms the fault, after the baseline and before the faulty run. */
  inject?: () => void | Promise<void>;
  /** Sees each event of the faulty run as it happens (e.g. heals on the first failure). */
  onEvent?: (event: ExecutionEvent) => void;
  /** Runs beside the faulty run (kills a backend, ...); awaited, bounded, after it ends. */
  during?: (run: QueryRun) => Promise<void>;
  /** Switches the fault off; always called, after the faulty run. */
  heal?: () => void | Promise<void>;
  /** The outcomes that count as surviving this fault. */
  expect: Outcome | Outcome[];
  /** For `partial` / `failed`: the failed fragment (undefined: refused before anything ran) and its cause. */
  cause?: { fragmentId?: string; code: ErrorCode | ErrorCode[]; driverCode?: string | RegExp };
  /** How long the faulty run may take before it counts as hung (default 10 s). */
  boundMs?: number;
  /** This scenario's statements still running on a server (polled until 0, up to 5 s). */
  statementsRunning?: () => Promise<number>;
  /** Proves the pool answers after the fault (a direct source call); throws if it does not. */
  probe?: () => Promise<unknown>;
  /** Runs the plan again after healing and expects the baseline (default true). */
  rerun?: boolean;
  /** Extra assertions; a throw marks the scenario as not survived. */
  check?: (ctx: ScenarioContext) => void | Promise<void>;
}

// ----------------------------------------------------------------- building blocks

/** Settles with `promise`, or with `undefined` after `ms` (and says which). */
async function bounded<T>(ms: number, promise: Promise<T>): Promise<{ settled: true; value: T } | { settled: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ settled: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const errorOf = (error: unknown): TributaryError | undefined => (error instanceof TributaryError ? error : undefined);

// ----------------------------------------------------------------- the runner

// A single-level plan ends within its fragments' deadline plus the merge and the event hops.
const DEADLINE_SLACK_MS = 1500;

/** Runs one scenario (see the module comment), records it, then asserts that it survived. */
export async function runScenario(spec: ScenarioSpec): Promise<ScenarioReport & { context: ScenarioContext }> {
  const problems: string[] = [];
  const events: ExecutionEvent[] = [];
  const boundMs = spec.boundMs ?? 10_000;
  const allowed = Array.isArray(spec.expect) ? spec.expect : [spec.expect];
  let outcome: Outcome | 'hung' = 'hung';
  let rowsLost = 0;
  let rowsDuplicated = 0;
  let statementsLeft = 0;
  let result: QueryResult | undefined;
  let error: TributaryError | undefined;
  let baseline: Row[] = [];
  let durationMs = 0;

  try {
    // 1. the baseline, fault-free
    const base = await bounded(boundMs, (spec.baselineExecutor ?? spec.executor).execute(spec.plan, spec.runOptions));
    if (!base.settled) throw new Error(`the fault-free baseline did not finish within ${boundMs} ms`);
    if (base.value.status !== 'ok') {
      throw new Error(`the fault-free baseline ended ${base.value.status}: ${base.value.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
    }
    baseline = base.value.rows;

    // 2. the fault, the faulty run, the heal
    let run: QueryRun | undefined;
    const t0 = performance.now();
    try {
      await spec.inject?.();
      try {
        run = spec.faultRun ? spec.faultRun() : spec.executor.run(spec.plan, spec.runOptions);
      } catch (thrown) {
        error = errorOf(thrown);
        if (!error) throw thrown;
        outcome = 'failed';
      }
      if (run) {
        const live = run;
        const subscription = live.events$.subscribe((event) => {
          events.push(event);
          spec.onEvent?.(event);
        });
        const during = spec.during?.(live).catch((e: unknown) => problems.push(`the fault's side task failed: ${String(e)}`));
        const settled = await bounded(
          boundMs,
          live.result.then(
            (r) => ({ r }),
            (e: unknown) => ({ e }),
          ),
        );
        if (!settled.settled) {
          problems.push(`the query did not end within ${boundMs} ms`);
          live.cancel('the fault scenario gave up on it');
          await bounded(5000, live.result.catch(() => undefined));
        } else if ('r' in settled.value) {
          result = settled.value.r;
          outcome = result.status === 'ok' ? 'recovered' : result.status;
          error = result.errors[0];
        } else {
          error = errorOf(settled.value.e);
          if (!error) problems.push(`the run rejected with a non-TributaryError: ${String(settled.value.e)}`);
          outcome = 'failed';
        }
        subscription.unsubscribe();
        if (during && !(await bounded(boundMs, during)).settled) problems.push('the fault side task did not finish');
      }
    } finally {
      durationMs = performance.now() - t0;
      await spec.heal?.();
    }

    // 3. the outcome: correct rows, or a named failure
    if (outcome !== 'hung' && !allowed.includes(outcome)) {
      problems.push(`outcome ${outcome}, expected ${allowed.join(' or ')}${error ? ` (${error.code}: ${error.message})` : ''}`);
    }
    if (result && result.status === 'ok') {
      const diff = compareRows(baseline, result.rows);
      rowsLost = diff.lost;
      rowsDuplicated = diff.duplicated;
    } else if (result && result.status === 'partial') {
      // Rows of the fragments that succeeded must all be there, once: union plans tag each row with `frag`.
      const succeeded = new Set(Object.entries(result.fragments).filter(([, f]) => f.status === 'succeeded').map(([id]) => id));
      const tagged = baseline.every((r) => typeof r.frag === 'string');
      const diff = compareRows(tagged ? baseline.filter((r) => succeeded.has(r.frag as string)) : baseline, result.rows);
      rowsLost = tagged ? diff.lost : 0;
      rowsDuplicated = diff.duplicated;
    }
    if (outcome === 'partial' || outcome === 'failed') {
      problems.push(...causeProblems(spec, result, error));
    }
    const deadline = spec.plan.deadlineMs;
    if (deadline !== undefined && outcome !== 'hung' && durationMs > deadline + DEADLINE_SLACK_MS) {
      problems.push(`the query took ${Math.round(durationMs)} ms, past its ${deadline} ms deadline`);
    }
    const wasted = retriesOnNonRetryable(events);
    if (wasted > 0) problems.push(`${wasted} retries were spent on non-retryable errors`);

    // 4. nothing left running on the server
    if (spec.statementsRunning) {
      const check = spec.statementsRunning;
      await eventually(
        async () => {
          statementsLeft = await check();
          return statementsLeft === 0;
        },
        5000,
        50,
      );
      if (statementsLeft > 0) problems.push(`${statementsLeft} statements still running on the server`);
    }

    // 5. the pool answers, and the plan runs again as before
    if (spec.probe) {
      const probed = await bounded(boundMs, spec.probe().then(() => undefined, (e: unknown) => e));
      if (!probed.settled) problems.push('the pool did not answer a probe after the fault');
      else if (probed.value !== undefined) problems.push(`the pool's probe failed after the fault: ${String(probed.value)}`);
    }
    if (spec.rerun !== false) {
      const again = await bounded(boundMs, spec.executor.execute(spec.plan, spec.runOptions).catch((e: unknown) => e));
      if (!again.settled) problems.push('the rerun after healing did not finish');
      else if (!isResult(again.value) || again.value.status !== 'ok') {
        problems.push(`the rerun after healing did not succeed: ${describe(again.value)}`);
      } else {
        const diff = compareRows(baseline, again.value.rows);
        if (diff.lost + diff.duplicated > 0) problems.push(`the rerun after healing differs from the baseline (${diff.lost} lost, ${diff.duplicated} extra)`);
      }
    }

    if (spec.check) {
      try {
        await spec.check({ baseline, events, result, error, durationMs });
      } catch (e) {
        problems.push(`check: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  } finally {
    const closers = [spec.executor.close(), ...(spec.baselineExecutor ? [spec.baselineExecutor.close()] : [])];
    if (!(await bounded(10_000, Promise.allSettled(closers))).settled) problems.push('executor.close() did not finish within 10 s');
  }

  if (rowsLost > 0) problems.push(`${rowsLost} rows lost`);
  if (rowsDuplicated > 0) problems.push(`${rowsDuplicated} rows duplicated`);
  const report: ScenarioReport = {
    suite: 'faults',
    scenario: spec.name,
    server: spec.server,
    outcome,
    survived: problems.length === 0,
    rowsLost,
    rowsDuplicated,
    statementsLeftRunning: statementsLeft,
    retriesOnNonRetryable: retriesOnNonRetryable(events),
    retries: events.filter((e) => e.type === 'fragment.retrying').length,
    durationMs,
    problems,
  };
  recordScenario(report);
  expect(problems, `scenario "${spec.name}" did not survive`).toEqual([]);
  return { ...report, context: { baseline, events, result, error, durationMs } };
}

function causeProblems(spec: ScenarioSpec, result: QueryResult | undefined, error: TributaryError | undefined): string[] {
  const cause = spec.cause;
  if (!cause) return ['a partial or failed outcome must name its cause: give the scenario a `cause`'];
  const codes = Array.isArray(cause.code) ? cause.code : [cause.code];
  const candidates = result ? result.errors : error ? [error] : [];
  const named = candidates.find((e) => (cause.fragmentId === undefined ? true : e instanceof FragmentError && e.fragmentId === cause.fragmentId));
  if (!named) return [`no error names fragment ${cause.fragmentId ?? '(none)'}: ${candidates.map(describe).join('; ') || 'no errors at all'}`];
  const problems: string[] = [];
  if (!codes.includes(named.code)) problems.push(`the error's code is ${named.code}, expected ${codes.join(' or ')} (${named.message})`);
  if (cause.fragmentId !== undefined && result && result.fragments[cause.fragmentId]?.status === 'succeeded') {
    problems.push(`fragment ${cause.fragmentId} is named as failed but reported succeeded`);
  }
  if (cause.driverCode !== undefined) {
    const dc = named.driverCode ?? '';
    const ok = typeof cause.driverCode === 'string' ? dc === cause.driverCode : cause.driverCode.test(dc);
    if (!ok) problems.push(`the driver code is "${dc}", expected ${String(cause.driverCode)} (${named.message})`);
  }
  return problems;
}

function isResult(value: unknown): value is QueryResult {
  return typeof value === 'object' && value !== null && 'status' in value && 'rows' in value;
}

function describe(value: unknown): string {
  if (isResult(value)) return `${value.status}: ${value.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`;
  if (value instanceof TributaryError) return `${value.code} ${value.message}`;
  return String(value);
}
