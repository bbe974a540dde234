import { afterEach, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, progressFrom, type ExecutionEvent, type Executor, type Progress, type QueryResult, type SourceExecutor } from '../../../src/index.js';
import { delayedSource } from '../../support/delayed-source.js';
import { unannounced } from '../../support/level-watch.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';

const tables = {
  customers: [{ id: 1 }, { id: 2 }],
  orders: [{ id: 10, customer_id: 1 }, { id: 11, customer_id: 2 }],
  flaky: [{ order_id: 10 }],
  slow: [{ customer_id: 1 }],
  lines: [{ order_id: 10, product_id: 100 }],
  missing: [],
};
const DELAY: Record<string, number> = { customers: 5, orders: 10, flaky: 10, slow: 300, lines: 10, missing: 20 };
const from = (fragment: string, column: string) => ({ $from: fragment, column });

/** Fails the first call on `flaky` (retryable) and every call on `missing` (not retryable). */
function faulty(source: SourceExecutor<{ table: string }>): SourceExecutor<{ table: string }> {
  let flakyCalls = 0;
  return {
    ...source,
    execute: (query, ctx) => {
      if (query.table === 'flaky' && flakyCalls++ === 0) return Promise.reject(Object.assign(new Error('connection reset'), { retryable: true }));
      if (query.table === 'missing') return Promise.reject(Object.assign(new Error('no such table'), { retryable: false }));
      return source.execute(query, ctx);
    },
  };
}

const plan = {
  id: 'eager-mixed',
  fragments: [
    { id: 'customers', source: 'ref', query: { table: 'customers' } },
    { id: 'orders', source: 'ref', dependsOn: ['customers'], query: { table: 'orders', where: { in: ['customer_id', from('customers', 'id')] } } },
    { id: 'slow', source: 'ref', dependsOn: ['customers'], query: { table: 'slow', where: { in: ['customer_id', from('customers', 'id')] } } },
    { id: 'flaky', source: 'ref', dependsOn: ['orders'], query: { table: 'flaky', where: { in: ['order_id', from('orders', 'id')] } } },
    { id: 'lines', source: 'ref', dependsOn: ['flaky'], query: { table: 'lines', where: { in: ['order_id', from('flaky', 'order_id')] } } },
    { id: 'broken', source: 'ref', dependsOn: ['orders'], query: { table: 'missing' } },
    { id: 'after-broken', source: 'ref', dependsOn: ['broken', 'slow'], query: { table: 'lines' } },
  ],
  merge: { op: 'union', inputs: ['lines', 'after-broken'] },
  schedule: 'eager',
  errorPolicy: 'partial',
};

let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

const TERMINAL = new Set(['fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'fragment.dropped', 'fragment.cancelled']);

it('under eager with a cache hit, a retry and a failure: no snapshot, event or progress value changes after emission, and the events keep their order', async () => {
  const clock = createVirtualClock();
  const audit = snapshotAudit();
  const ref = faulty(delayedSource(memorySource({ tables }), clock, (q) => DELAY[q.table] ?? 10));
  executor = createExecutor({ sources: { ref }, cache: {}, clock, inspect: audit.inspect, retry: { attempts: 2, initialDelayMs: 5, maxDelayMs: 5, jitter: 'none' } });
  // `customers` runs once first, so the plan gets it from the cache.
  const warm = executor.run({ id: 'warm', fragments: [plan.fragments[0]!] });
  await clock.advanceAsync(50);
  expect((await warm.result).status).toBe('ok');

  const run = audit.watch(executor.run(plan));
  const events: ExecutionEvent[] = [];
  run.events$.subscribe((e) => events.push(e));
  const progress: { live: Progress; copy: Progress }[] = [];
  run.progress$.subscribe((p) => progress.push({ live: p, copy: structuredClone(p) }));
  const fromEvents: Progress[] = [];
  progressFrom(run.events$, plan.fragments.length).subscribe((p) => fromEvents.push(p));
  await clock.advanceAsync(2_000);
  let outcome: QueryResult | Error;
  try {
    outcome = await run.result;
  } catch (error) {
    outcome = error as Error;
  }
  expect(outcome).not.toBeInstanceOf(Error);
  const result = outcome as QueryResult;
  expect(result.status).toBe('partial');
  expect(result.fragments.customers).toMatchObject({ status: 'succeeded', cached: true });
  expect(result.fragments.flaky).toMatchObject({ status: 'succeeded', attempts: 2 });
  expect(result.fragments.broken?.status).toBe('failed');
  expect(result.fragments['after-broken']?.status).toBe('skipped');

  expect(audit.problems(run, outcome, ['ref'])).toEqual([]);
  expect(audit.kept(run).snapshots).toBeGreaterThan(5);
  // progress$ values stay as they were emitted, each counter monotonic, the last adding up.
  expect(progress.filter((p) => JSON.stringify(p.live) !== JSON.stringify(p.copy))).toEqual([]);
  for (const key of ['succeeded', 'failed', 'cached', 'skipped', 'retries', 'percent'] as const) {
    expect(progress.map((p) => p.copy[key])).toEqual([...progress.map((p) => p.copy[key])].sort((a, b) => a - b));
  }
  const last = progress.at(-1)!.copy;
  expect(last).toMatchObject({ total: 7, succeeded: 5, cached: 1, failed: 1, skipped: 1, retries: 1, done: true, percent: 100 });
  expect(fromEvents.at(-1)).toEqual(last);
  // Event order: every fragment event under its level's header, time never going back, one
  // terminal event per fragment, all before query.done, which is last.
  expect(unannounced(events)).toEqual([]);
  expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
  const terminals = events.filter((e) => TERMINAL.has(e.type)).map((e) => ('fragmentId' in e ? e.fragmentId : ''));
  expect([...terminals].sort()).toEqual(plan.fragments.map((f) => f.id).sort());
  expect(events.at(-1)?.type).toBe('query.done');
  expect(events.findIndex((e) => e.type === 'merge.started')).toBeGreaterThan(Math.max(...terminals.map((id) => events.findIndex((e) => TERMINAL.has(e.type) && 'fragmentId' in e && e.fragmentId === id))));
});
