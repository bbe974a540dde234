import { createActor } from 'xstate';
import { TributaryError } from '../errors.js';
import type { Row } from '../data/row.js';
import type { PreparedPlan } from './prepare.js';
import { buildResult, type QueryResult } from './result.js';
import { RunPort } from './run-port.js';
import { RunStreaming } from './streaming.js';
import type { QueryRun, RunOptions, RunRuntime } from './types.js';

/**
 * Starts a prepared plan: the run's port (status table, scheduler, rows, events), the query
 * actor of the machine for the plan's shape, and the `QueryRun` the caller holds. The actor
 * starts on the next microtask, so a subscriber attached right after `run()` sees every
 * state, `planned` included. With a `gate` (an asynchronous authorization) the actor starts
 * only once it resolves; if it rejects, or the run is cancelled first, no source is called:
 * `result` rejects with that error after a `query.failed` event. @internal — use `executor.run()`.
 */
export function startRun(prepared: PreparedPlan, opts: RunOptions, rt: RunRuntime, gate?: Promise<void>): QueryRun {
  const port = new RunPort(prepared, rt, opts.params ?? {}, opts.principal);
  const actor = createActor(rt.machineFor(prepared.levelSizes.length), {
    // The actor's id is the query's, so the inspector lists each query by name.
    id: prepared.id,
    input: { port },
    ...(rt.options.inspect ? { inspect: rt.options.inspect as never } : {}),
  });
  // A durable run stores the machine's persisted snapshot with each finished fragment.
  if (rt.durable) rt.durable.snapshotOf = () => actor.getPersistedSnapshot();

  let settle!: { resolve: (r: QueryResult) => void; reject: (e: unknown) => void };
  const result = new Promise<QueryResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // A caller who only reads events must not get an unhandled rejection for a cancel.
  result.catch(() => undefined);

  let started = false;
  let finished = false;
  const onAbort = (): void => cancel(abortMessage(opts.signal?.reason));

  const finish = (): void => {
    if (finished) return;
    finished = true;
    opts.signal?.removeEventListener('abort', onAbort);
    const snapshot = actor.getSnapshot();
    const failed = snapshot.value === 'failed' || snapshot.status === 'error';
    const durationMs = port.at();
    const errors = port.mergeError ? [...port.errors, port.mergeError] : port.errors;
    const out = buildResult(prepared, port.table, { failed, rows: port.merged.rows, columns: port.merged.columns, errors, retries: port.events.retries, durationMs });
    const cancelled = failed && snapshot.context.failure?.code === 'CANCELLED';
    const error = !failed
      ? undefined
      : cancelled
        ? (port.stopReason ?? new TributaryError('CANCELLED', 'the query was cancelled'))
        : (errors[0] ?? new TributaryError('FRAGMENT_FAILED', snapshot.context.failure?.message ?? 'the query failed'));
    if (port.events.wanted) {
      if (error) port.events.emit({ type: 'query.failed', queryId: prepared.id, at: durationMs, error, durationMs });
      else {
        const rowCount = port.streaming ? port.streaming.rows.count : out.rows.length;
        port.events.emit({ type: 'query.done', queryId: prepared.id, at: durationMs, status: out.status === 'partial' ? 'partial' : 'ok', rowCount, durationMs });
      }
    }
    port.streaming?.finish(error);
    port.events.finish(!error);
    rt.ticket?.release();
    rt.onFinished(run);
    if (cancelled) settle.reject(error);
    else settle.resolve(out);
  };
  actor.subscribe({ complete: finish, error: finish });

  // The run ends before its actor starts (refused, or cancelled while authorization is pending).
  const refuse = (error: TributaryError): void => {
    if (finished || started) return;
    finished = true;
    opts.signal?.removeEventListener('abort', onAbort);
    const durationMs = port.at();
    if (port.events.wanted) port.events.emit({ type: 'query.failed', queryId: prepared.id, at: durationMs, error, durationMs });
    port.streaming?.finish(error);
    port.events.finish(false);
    rt.ticket?.release();
    rt.onFinished(run);
    settle.reject(error);
  };

  const cancel = (reason?: string): void => {
    if (finished) return;
    port.stopReason = new TributaryError('CANCELLED', reason ? `the query was cancelled: ${reason}` : 'the query was cancelled');
    if (started) actor.send({ type: 'query.cancel', reason: port.stopReason.message });
    else if (gate) refuse(port.stopReason);
  };

  const run: QueryRun = {
    queryId: prepared.id,
    actor,
    events$: port.events.events$,
    progress$: port.events.progress$,
    result,
    cancel,
    rows: (batchSize = 1000) => {
      if (!Number.isInteger(batchSize) || batchSize < 1) return invalidBatchSize(batchSize);
      // Called before the run starts, on a tree that can stream: rows flow as they arrive.
      // (Not for a durable run: its fragments' rows are stored, so they are kept whole.)
      if (!started && !port.streaming && !rt.durable) port.streaming = RunStreaming.start(prepared, port.params, (id) => port.rows[prepared.indexOf.get(id)!] ?? []);
      return port.streaming ? port.streaming.rows.batches(batchSize) : batches(result, batchSize);
    },
    recording: () => rt.recorder?.recording(),
  };

  if (opts.signal?.aborted) port.stopReason = new TributaryError('CANCELLED', `the query was cancelled: ${abortMessage(opts.signal.reason)}`);
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const begin = (): void => {
    if (finished) return;
    started = true;
    actor.start();
    if (port.events.wanted) port.events.emit({ type: 'query.started', queryId: prepared.id, at: port.at(), fragments: prepared.fragments.length, levels: prepared.levelSizes.length });
    if (port.stopReason) actor.send({ type: 'query.cancel', reason: port.stopReason.message });
    else actor.send({ type: 'query.start' });
  };
  if (gate === undefined) queueMicrotask(begin);
  else {
    const stopped = port.stopReason;
    if (stopped) queueMicrotask(() => refuse(stopped));
    gate.then(begin, (error: unknown) =>
      refuse(error instanceof TributaryError ? error : new TributaryError('FORBIDDEN', 'authorization failed; nothing ran', { cause: error })),
    );
  }
  return run;
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

// eslint-disable-next-line require-yield -- it fails before its first batch
async function* invalidBatchSize(size: number): AsyncIterableIterator<Row[]> {
  // A size below 1 would yield empty batches forever.
  throw new TributaryError('CONFIG_INVALID', `rows(batchSize): expected a positive integer, got ${size}`, { issues: [{ path: 'batchSize', message: 'expected a positive integer' }] });
}

async function* batches(result: Promise<QueryResult>, size: number): AsyncIterableIterator<Row[]> {
  const r = await result;
  if (r.status === 'failed') throw r.errors[0] ?? new TributaryError('FRAGMENT_FAILED', 'the query failed');
  for (let i = 0; i < r.rows.length; i += size) yield r.rows.slice(i, i + size);
}
