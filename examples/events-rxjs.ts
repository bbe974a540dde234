/**
 * tributary in an event-driven service: RxJS pipelines over `executor.events$` (the events
 * of every query) that raise an alert for each failed fragment, and per run (`run.events$`)
 * a log of the fragments slower than a threshold once the run ends. `npx tsx examples/events-rxjs.ts`
 */
import { setTimeout as delay } from 'node:timers/promises';
import { filter, map, toArray, type OperatorFunction } from 'rxjs';
import { createExecutor, memorySource, type ExecutionEvent, type QueryRun, type Row, type SourceExecutor } from '../src/index.js';

/** Narrows a stream of events to one type. */
const ofType = <T extends ExecutionEvent['type']>(type: T): OperatorFunction<ExecutionEvent, Extract<ExecutionEvent, { type: T }>> =>
  filter((e): e is Extract<ExecutionEvent, { type: T }> => e.type === type);

/** A source that answers after `ms`, or fails, as a remote one might. */
function remote(ms: number, fail = false): SourceExecutor {
  const data = memorySource({ tables: { customers: [{ id: 1, name: 'Ada' }], orders: [{ customer_id: 1, total: 40 }], rates: [{ eur: 0.92 }] } });
  return {
    ...data,
    kind: 'remote',
    execute: async (query, ctx) => {
      await delay(ms, undefined, { signal: ctx.signal });
      if (fail) throw Object.assign(new Error('403 Forbidden'), { retryable: false });
      return data.execute(query, ctx) as Promise<Row[]>; // memorySource answers with a promise
    },
  };
}

const executor = createExecutor({ sources: { crm: remote(5), shop: remote(120), rates: remote(5, true) } });

// 1. Alerting: every failed fragment of every query, as one line for the pager.
const alerts = executor.events$
  .pipe(
    ofType('fragment.failed'),
    map((e) => `ALERT ${e.queryId}: fragment "${e.fragmentId}" on ${e.source} failed with ${e.error.code} after ${e.attempts} attempt(s)`),
  )
  .subscribe((line) => console.warn(line));

// 2. Slow fragments per run: when a run ends (its own events$ completes), log the fragments
//    that took longer than 100 ms. Per run, not grouped by queryId on executor.events$: runs
//    of one plan share its id, and overlapping ones would be mixed.
function logSlowFragments(run: QueryRun): QueryRun {
  run.events$
    .pipe(
      ofType('fragment.succeeded'),
      filter((e) => e.durationMs > 100),
      toArray(),
      filter((slow) => slow.length > 0),
      map((slow) => `${run.queryId}: slow ${slow.map((e) => `${e.fragmentId} (${e.source}, ${Math.round(e.durationMs)} ms)`).join(', ')}`),
    )
    .subscribe((line) => console.log(line));
  return run;
}

const results = await Promise.all([
  logSlowFragments(
    executor.run({
      id: 'customer-orders',
      fragments: [
        { id: 'customers', source: 'crm', query: { table: 'customers' } },
        { id: 'orders', source: 'shop', dependsOn: ['customers'], query: { table: 'orders', where: { in: ['customer_id', { $from: 'customers', column: 'id' }] } } },
      ],
      merge: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
    }),
  ).result,
  logSlowFragments(
    executor.run({
      id: 'orders-in-euros',
      errorPolicy: 'partial',
      fragments: [
        { id: 'orders', source: 'shop', query: { table: 'orders' } },
        { id: 'rates', source: 'rates', query: { table: 'rates' } },
      ],
      merge: { op: 'union', inputs: ['orders', 'rates'] },
    }),
  ).result,
]);
for (const r of results) console.log(`${r.queryId}: ${r.status}, ${r.rows.length} rows`);

alerts.unsubscribe();
await executor.close();
