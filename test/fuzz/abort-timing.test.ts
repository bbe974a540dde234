import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError, createExecutor, isTributaryError, type Executor } from '../../src/index.js';
import { createTally, reportTally } from '../support/fuzz-report.js';
import { count, judge, pollution, runs, settle, show, type Outcome, type Verdict } from './harness.js';
import { referenceRun } from './reference.js';
import { slowRows, slowSource, tracked, type SlowQuery, type TrackedCall } from './tracked-sources.js';
import { Mirror, RUN_PARAMS, engineSources, refWorld, tablesArb, type Tables } from './world.js';

/**
 * Random abort timings against a mixed DAG (memory, SQLite and a slow custom source, with
 * bind joins, batching, streaming and failures): run.cancel(), the caller's AbortSignal,
 * executor.close(), an already-aborted signal, or no abort at all. Afterwards no source call
 * may still be running, the result must have settled, the executor must be idle, and no
 * promise may have been left rejected without a handler.
 */

const tally = createTally('fuzz-abort-timing');
const tables: Tables = fc.sample(tablesArb, { numRuns: 1, seed: 11 })[0]!;
let mirror: Mirror;
let unhandled = 0;
/** Evidence that the suite aborts something: calls aborted mid-flight, runs cancelled. */
const seen = { abortedCalls: 0, cancelledRuns: 0 };
const onUnhandled = () => {
  unhandled++;
};

beforeAll(() => {
  mirror = new Mirror();
  mirror.load(tables);
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  mirror.close();
  reportTally(tally);
});

const fragmentArb = fc.record({
  kind: fc.constantFrom('mem', 'sql', 'slow', 'slow'),
  up: fc.option(fc.nat({ max: 5 }), { freq: 2 }),
  ms: fc.nat({ max: 20 }),
  rows: fc.nat({ max: 4 }),
  fail: fc.nat({ max: 9 }).map((n) => n === 0),
  stream: fc.boolean(),
  timesOut: fc.nat({ max: 9 }).map((n) => n === 0),
  batch: fc.option(fc.integer({ min: 1, max: 2 })),
});

const caseArb = fc.record({
  fragments: fc.array(fragmentArb, { minLength: 2, maxLength: 6 }),
  errorPolicy: fc.constantFrom('fail-fast', 'partial'),
  schedule: fc.constantFrom('levels', 'eager'),
  abort: fc.constantFrom('none', 'cancel', 'signal', 'close', 'pre-aborted', 'cancel-at-once'),
  delayMs: fc.nat({ max: 30 }),
  concurrency: fc.integer({ min: 1, max: 8 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function buildPlan(c: Case): Record<string, unknown> {
  const fragments = c.fragments.map((f, i) => {
    const id = `f${i}`;
    const up = f.up !== null && i > 0 ? `f${f.up % i}` : undefined;
    const ref = up ? { $from: up, column: c.fragments[f.up! % i]!.kind.startsWith('slow') ? 'i' : 'id' } : undefined;
    const deps = up ? { dependsOn: [up] } : {};
    if (f.kind === 'mem') return { id, source: 'mem', query: { table: 't0', ...(ref ? { where: { in: ['id', ref] } } : {}) }, ...deps };
    if (f.kind === 'sql') {
      return { id, source: 'sql', query: { sql: `SELECT id, s FROM t1${ref ? ' WHERE id IN (SELECT value FROM json_each(?))' : ''}`, params: ref ? [ref] : [] }, ...deps };
    }
    // A tiny timeout on a slow call times out every attempt, deterministically.
    const timesOut = f.timesOut && f.ms >= 15;
    const query: SlowQuery = { key: id, ms: f.ms, rows: f.rows, ...(f.fail ? { fail: true } : {}), ...(f.stream ? { stream: true } : {}), ...(timesOut ? { note: 'times out' as const } : {}), ...(ref ? { params: [ref] } : {}) };
    return { id, source: 'slow', query, ...deps, ...(ref && f.batch ? { batch: { param: 0, size: f.batch } } : {}), ...(timesOut ? { timeoutMs: 3 } : {}) };
  });
  return { fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) }, errorPolicy: c.errorPolicy, schedule: c.schedule };
}

const world = () =>
  refWorld(tables, mirror, {
    sources: { mem: 'memory', sql: 'sqlite', slow: 'custom' },
    custom: (query) => {
      const q = query as SlowQuery;
      if (q.fail || q.note) throw new Error('fails');
      return slowRows(q);
    },
  });

/** Starts the run and aborts it as the case says; resolves with the outcome and when it settled. */
async function runCase(c: Case, executor: Executor, plan: unknown): Promise<{ outcome: Outcome; closed: boolean }> {
  const controller = new AbortController();
  if (c.abort === 'pre-aborted') controller.abort(new Error('aborted before the run'));
  const run = executor.run(plan, { params: RUN_PARAMS, signal: controller.signal });
  if (c.abort === 'cancel-at-once') run.cancel('at once');
  let closing: Promise<void> | undefined;
  const timer = setTimeout(() => {
    if (c.abort === 'cancel') run.cancel('fuzzed cancel');
    if (c.abort === 'signal') controller.abort(new Error('fuzzed abort'));
    if (c.abort === 'close') closing = executor.close();
  }, c.delayMs);
  const settled = await settle(run.result, 5_000);
  clearTimeout(timer);
  if (settled === 'hung') return { outcome: { kind: 'hung' }, closed: false };
  const closed = closing === undefined || (await settle(closing, 5_000)) !== 'hung';
  return { outcome: settled.ok ? { kind: 'result', result: settled.value } : { kind: 'rejected', error: settled.error, sync: false }, closed };
}

function verdictOf(c: Case, plan: unknown, outcome: Outcome, calls: TrackedCall[], settledAt: number, executor: Executor): Verdict {
  if (outcome.kind === 'hung') return { kind: 'hang', detail: 'the result did not settle' };
  const running = calls.filter((call) => call.settledAt === undefined);
  if (running.length > 0) return { kind: 'mismatch', detail: `${running.length} source call(s) still running: ${running.map((r) => `${r.source} aborted=${r.signal.aborted}`).join(', ')}` };
  const late = calls.filter((call) => call.startedAt > settledAt);
  if (late.length > 0) return { kind: 'mismatch', detail: `${late.length} source call(s) started after the result settled` };
  const m = executor.metrics();
  const busy = [m.lanes.global, ...Object.values(m.lanes.sources)].some((l) => l.running > 0 || l.queued > 0);
  if (m.runningQueries > 0 || busy) return { kind: 'mismatch', detail: `executor not idle: ${show(m.lanes)} running=${m.runningQueries}` };
  if (outcome.kind === 'rejected') {
    if (!(outcome.error instanceof TributaryError)) return { kind: 'crash', detail: String(outcome.error) };
    if (outcome.error.code !== 'CANCELLED') return { kind: 'mismatch', detail: `result rejected with ${outcome.error.code}` };
    if (c.abort === 'none') return { kind: 'mismatch', detail: 'cancelled without an abort' };
    return { kind: 'ok' };
  }
  if (c.abort === 'pre-aborted' || c.abort === 'cancel-at-once') return { kind: 'mismatch', detail: `ran to ${outcome.result.status} although cancelled before it started` };
  // Without an abort the result is deterministic; with one, whatever finished first is fine.
  if (c.abort === 'none') return judge(referenceRun(plan, world()), outcome, false);
  return outcome.result.errors.every((e) => e instanceof TributaryError) ? { kind: 'ok' } : { kind: 'crash', detail: 'a result error is not a TributaryError' };
}

describe('fuzzed abort timings', () => {
  it('leave no source call running, the result settled and the executor idle', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const calls: TrackedCall[] = [];
        const base = engineSources(tables, mirror);
        const executor = createExecutor({
          concurrency: c.concurrency,
          circuitBreaker: false,
          retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 3 },
          sources: { mem: tracked('mem', base.mem!, calls), sql: tracked('sql', base.sql!, calls), slow: tracked('slow', slowSource(), calls) },
        });
        const plan = buildPlan(c);
        const { outcome, closed } = await runCase(c, executor, plan);
        const settledAt = performance.now();
        // A call aborted just now settles on its signal's listeners; give them a turn.
        await new Promise((resolve) => setImmediate(resolve));
        let verdict = closed ? verdictOf(c, plan, outcome, calls, settledAt, executor) : { kind: 'hang' as const, detail: 'executor.close() did not settle' };
        if (c.abort === 'pre-aborted' && calls.length > 0 && verdict.kind === 'ok') verdict = { kind: 'mismatch', detail: 'a pre-aborted run called a source' };
        if ((await settle(executor.close(), 5_000)) === 'hung') verdict = { kind: 'hang', detail: 'executor.close() did not settle' };
        if (verdict.kind === 'ok') {
          try {
            executor.run(plan);
            verdict = { kind: 'mismatch', detail: 'a closed executor accepted a run' };
          } catch (error) {
            if (!isTributaryError(error, 'CLOSED')) verdict = { kind: 'mismatch', detail: `a closed executor threw ${String(error)}` };
          }
        }
        count(tally, verdict);
        seen.abortedCalls += calls.filter((call) => call.abortedAt !== undefined && call.abortedAt <= (call.settledAt ?? Infinity)).length;
        if (outcome.kind === 'rejected') seen.cancelledRuns++;
        if (verdict.kind !== 'ok') throw new Error(`${verdict.kind}: ${verdict.detail}\n  abort: ${c.abort} after ${c.delayMs} ms\n  plan: ${show(plan)}`);
      }),
      { numRuns: runs(250) },
    );
    expect(pollution()).toBeUndefined();
    expect(seen.abortedCalls).toBeGreaterThan(0);
    expect(seen.cancelledRuns).toBeGreaterThan(0);
  }, 600_000);

  it('left no promise rejected without a handler', async () => {
    // Node reports an unhandled rejection after the microtasks of the turn it happened in.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toBe(0);
  });
});
