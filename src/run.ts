import { ReplaySubject, Subject, map, type Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import type { QueryMachine, createQueryMachine } from '../machines/query.machine.js';
import { TributaryError } from './errors.js';
import { fragment$, type FragmentCachePort } from './execution/fragment.js';
import type { SourceGuards } from './execution/attempt.js';
import type { Lane } from './execution/lanes.js';
import type { QuotaTicket } from './quotas.js';
import { mergeRetry } from './execution/retry.js';
import { evaluateMerge, planStream, type StreamPlan } from './merge/index.js';
import { RowStream } from './row-stream.js';
import { mergeLeaves, type MergeNode, type ValidatedPlan } from './plan/index.js';
import type { ExecutionEvent, FragmentEvent } from './progress/events.js';
import { progressFrom, type Progress } from './progress/progress.js';
import { buildResult, type QueryResult } from './result.js';
import type { Principal, SourceExecutor } from './sources/source.js';
import type { Row } from './data/row.js';
import type { ResolvedExecutorOptions } from './config.js';

/** Options of one run. */
export interface RunOptions {
  /** Aborting it cancels the run, as `run.cancel()` does. */
  signal?: AbortSignal;
  /** Who asks: scopes the cache (and quotas). */
  principal?: Principal;
  /** Values for the plan's `{ $param: name }` references. */
  params?: Record<string, unknown>;
}

/** A running query: its actor, its live events and progress, and its result. */
export interface QueryRun {
  readonly queryId: string;
  /** The XState actor of the query machine (started on the next microtask). */
  readonly actor: Actor<QueryMachine>;
  /** Every event of this run from now on; completes after `query.done` / `query.failed`. */
  readonly events$: Observable<ExecutionEvent>;
  /** The run's progress; a late subscriber gets the latest value first. */
  readonly progress$: Observable<Progress>;
  /** Resolves with the result (status `failed` under fail-fast); rejects with `CANCELLED`. */
  readonly result: Promise<QueryResult>;
  /** Stops the run: every running source call is aborted; `result` rejects with `CANCELLED`. */
  cancel(reason?: string): void;
  /** The merged rows in batches. */
  rows(batchSize?: number): AsyncIterableIterator<Row[]>;
}

/** What a run needs from its executor. @internal */
export interface RunRuntime {
  options: ResolvedExecutorOptions;
  sources: ReadonlyMap<string, SourceExecutor>;
  globalLane: Lane;
  sourceLane(name: string): Lane;
  guardsOf(name: string): SourceGuards;
  /** The run's admission: its per-query row accounting and running-query slot. */
  ticket?: QuotaTicket;
  cachePortFor(plan: ValidatedPlan, fragmentId: string, principal: Principal | undefined): FragmentCachePort | undefined;
  publish(event: ExecutionEvent): void;
  /** The query machine's factory (src/ reaches machines/ only through executor.ts). */
  createMachine: typeof createQueryMachine;
  onFinished(run: QueryRun): void;
}

/** Starts a validated plan. @internal — use `executor.run()`. */
export function startRun(plan: ValidatedPlan, opts: RunOptions, rt: RunRuntime): QueryRun {
  const t0 = performance.now();
  const now = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
  const stored = new Map<string, Row[]>();
  // A run keeps the sources it was validated against, even if one is unregistered meanwhile.
  const bound = new Map(plan.fragments.map((f) => [f.source, { source: rt.sources.get(f.source)!, lane: rt.sourceLane(f.source), guards: rt.guardsOf(f.source) }]));
  const events = new Subject<ExecutionEvent>();
  const progress = new ReplaySubject<Progress>(1);
  const errors: TributaryError[] = [];
  let merged: { rows: Row[]; columns: string[] } = { rows: [], columns: [] };
  let retries = 0;
  let stopReason: TributaryError | undefined;
  let mergeError: TributaryError | undefined;
  const params = opts.params ?? {};
  const rowLimits = plan.limits ?? rt.options.rowLimits;
  // Streaming (`run.rows()` called before the run starts): the merge's streaming flow and
  // the hand-over to the consumer. Undefined when the result is materialized.
  let streamPlan: StreamPlan | undefined;
  let rowStream: RowStream | undefined;
  const settledFragments = new Map<string, () => void>();
  const settledPromises = new Map<string, Promise<void>>();
  for (const f of plan.fragments) settledPromises.set(f.id, new Promise<void>((resolve) => settledFragments.set(f.id, resolve)));
  const materialize = async (node: MergeNode): Promise<Row[]> => {
    const ids = [...new Set(mergeLeaves(node).leaves.map((l) => l.id))];
    await Promise.all(ids.map((id) => settledPromises.get(id)));
    const inputs = new Map<string, Row[]>(ids.map((id) => [id, stored.get(id) ?? []]));
    return evaluateMerge(node, inputs, { params }).rows;
  };

  const emit = (event: ExecutionEvent): void => {
    if (event.type === 'fragment.retrying') retries++;
    if (event.type === 'fragment.succeeded' || event.type === 'fragment.failed' || event.type === 'fragment.skipped') settledFragments.get(event.fragmentId)?.();
    if (event.type === 'fragment.failed') {
      errors.push(event.error);
      if (plan.errorPolicy === 'fail-fast') {
        stopReason ??= new TributaryError('CANCELLED', `stopped because fragment "${event.fragmentId}" failed (fail-fast)`, { cause: event.error });
      }
    }
    events.next(event);
    rt.publish(event);
  };
  progressFrom(events, plan.fragments.length).subscribe(progress);

  const runFragment = (id: string): Observable<FragmentEvent> => {
    const fragment = plan.fragmentsById.get(id)!;
    const index = plan.fragments.indexOf(fragment);
    return fragment$({
      fragment,
      path: `fragments[${index}]`,
      level: plan.levelOf.get(id)!,
      source: bound.get(fragment.source)!.source,
      lanes: { global: rt.globalLane, source: bound.get(fragment.source)!.lane },
      retry: mergeRetry(rt.options.retry, plan.retry, fragment.retry),
      timeoutMs: fragment.timeoutMs ?? plan.timeoutMs ?? rt.options.timeoutMs,
      deadlineMs: fragment.deadlineMs ?? plan.deadlineMs ?? rt.options.deadlineMs,
      guards: bound.get(fragment.source)!.guards,
      account: rt.ticket ? (rows) => rt.ticket!.account(id, rows) : undefined,
      bind: { rowsOf: (upstream) => stored.get(upstream) ?? [], params },
      principal: opts.principal,
      limits: rowLimits,
      cache: rt.cachePortFor(plan, id, opts.principal),
      now,
      abortReason: () => stopReason ?? new TributaryError('CANCELLED', 'the query was stopped'),
      store: (rows) => stored.set(id, rows),
      ...(rowStream && streamPlan?.leaves.has(id)
        ? {
            stream: {
              sink: rowStream.sinkFor(id),
              retain: (plan.dependents.get(id)?.length ?? 0) > 0 || streamPlan.materialized.has(id),
              satisfied: () => rowStream!.satisfied(id),
            },
          }
        : {}),
    }).pipe(map((event) => ({ ...event, queryId: plan.id, at: now() }) as FragmentEvent));
  };

  const merge = async (): Promise<number> => {
    if (rowStream) {
      // The rows went to the consumer of run.rows() as they came; nothing is left to merge.
      merged = { rows: [], columns: rowStream.columns };
      return rowStream.count;
    }
    const inputs = new Map<string, Row[]>();
    for (const f of plan.fragments) inputs.set(f.id, stored.get(f.id) ?? []);
    try {
      merged = evaluateMerge(plan.mergeTree, inputs, { params });
    } catch (error) {
      mergeError =
        error instanceof TributaryError ? error : new TributaryError('MERGE_FAILED', `merge failed: ${(error as Error).message}`, { cause: error });
      throw mergeError;
    }
    return merged.rows.length;
  };

  const machine = rt.createMachine(plan, { runFragment, merge, emit, now, maxActiveFragments: Math.max(64, rt.options.concurrency * 4) });
  // The actor's id is the query's, so the inspector lists each query by name rather than as "query".
  const actor = createActor(machine, { id: plan.id, ...(rt.options.inspect ? { inspect: rt.options.inspect as never } : {}) });

  let settle!: { resolve: (r: QueryResult) => void; reject: (e: unknown) => void };
  const result = new Promise<QueryResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // A caller who only reads events must not get an unhandled rejection for a cancel.
  result.catch(() => undefined);

  const onAbort = (): void => cancel(abortMessage(opts.signal?.reason));
  const finish = (): void => {
    const snapshot = actor.getSnapshot();
    opts.signal?.removeEventListener('abort', onAbort);
    const failed = snapshot.value === 'failed' || snapshot.status === 'error';
    const durationMs = now();
    if (mergeError) errors.push(mergeError);
    const out = buildResult(snapshot.context, { failed, rows: merged.rows, columns: merged.columns, errors, retries, durationMs });
    const cancelled = failed && snapshot.context.failure?.code === 'CANCELLED';
    const error = !failed
      ? undefined
      : cancelled
        ? (stopReason ?? new TributaryError('CANCELLED', 'the query was cancelled'))
        : (errors[0] ?? new TributaryError('FRAGMENT_FAILED', snapshot.context.failure?.message ?? 'the query failed'));
    if (error) {
      emit({ type: 'query.failed', queryId: plan.id, at: durationMs, error, durationMs });
    } else {
      emit({ type: 'query.done', queryId: plan.id, at: durationMs, status: out.status === 'partial' ? 'partial' : 'ok', rowCount: rowStream ? rowStream.count : out.rows.length, durationMs });
    }
    for (const release of settledFragments.values()) release();
    rowStream?.finish(error);
    events.complete();
    rt.ticket?.release();
    rt.onFinished(run);
    if (cancelled) settle.reject(error);
    else settle.resolve(out);
  };

  let finished = false;
  actor.subscribe({
    next: (snapshot) => {
      if (!finished && snapshot.status !== 'active') {
        finished = true;
        finish();
      }
    },
    error: () => {
      if (!finished) {
        finished = true;
        finish();
      }
    },
  });

  let started = false;
  const cancel = (reason?: string): void => {
    if (finished) return;
    stopReason = new TributaryError('CANCELLED', reason ? `the query was cancelled: ${reason}` : 'the query was cancelled');
    if (started) actor.send({ type: 'query.cancel', reason: stopReason.message });
  };

  const run: QueryRun = {
    queryId: plan.id,
    actor,
    events$: events.asObservable(),
    progress$: progress.asObservable(),
    result,
    cancel,
    rows: (batchSize = 1000) => {
      // Called before the run starts, on a tree that can stream: rows flow as they arrive.
      if (!started && !rowStream && Number.isInteger(batchSize) && batchSize >= 1) {
        streamPlan = planStream(plan.mergeTree);
        if (streamPlan) rowStream = new RowStream(streamPlan.start({ materialize, params }));
      }
      return rowStream ? rowStream.batches(batchSize) : batches(result, batchSize);
    },
  };

  if (opts.signal?.aborted) stopReason = new TributaryError('CANCELLED', `the query was cancelled: ${abortMessage(opts.signal.reason)}`);
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  // Start on the next microtask so that a subscriber attached right after run() sees
  // every state, `planned` included.
  queueMicrotask(() => {
    started = true;
    actor.start();
    emit({ type: 'query.started', queryId: plan.id, at: now(), fragments: plan.fragments.length, levels: plan.levels.length });
    if (stopReason) actor.send({ type: 'query.cancel', reason: stopReason.message });
    else actor.send({ type: 'query.start' });
  });
  return run;
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

async function* batches(result: Promise<QueryResult>, size: number): AsyncIterableIterator<Row[]> {
  // A size below 1 would yield empty batches forever.
  if (!Number.isInteger(size) || size < 1) {
    throw new TributaryError('CONFIG_INVALID', `rows(batchSize): expected a positive integer, got ${size}`, { issues: [{ path: 'batchSize', message: 'expected a positive integer' }] });
  }
  const r = await result;
  if (r.status === 'failed') throw r.errors[0] ?? new TributaryError('FRAGMENT_FAILED', 'the query failed');
  for (let i = 0; i < r.rows.length; i += size) yield r.rows.slice(i, i + size);
}

