import { createActor } from 'xstate';
import { bindPort, unbindPort } from './port-slot.js';
import { TributaryError } from '../errors.js';
import { publicError } from '../value-mask.js';
import type { Row } from '../data/row.js';
import type { PreparedPlan } from './prepare.js';
import type { QueryResult } from './result.js';
import { onSignalAbort } from './abort-fanout.js';
import { batches, invalidBatchSize } from './result-batches.js';
import { runOutcome } from './outcome.js';
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
  return new RunControl(prepared, opts, rt, gate).run;
}

/**
 * A run's lifecycle (begin, cancel, refuse, finish) as methods of one object rather than a
 * closure each: every run makes one. The `QueryRun` handed out stays a plain object (callers
 * spread it), so only its own three methods are closures.
 */
class RunControl {
  readonly port: RunPort;
  readonly actor: QueryRun['actor'];
  readonly run: QueryRun;
  #resolve!: (r: QueryResult) => void;
  #reject!: (e: unknown) => void;
  #started = false;
  #finished = false;
  /** Stops listening on the caller's signal. */
  #offAbort: (() => void) | undefined;

  constructor(
    readonly prepared: PreparedPlan,
    readonly opts: RunOptions,
    readonly rt: RunRuntime,
    readonly gate: Promise<void> | undefined,
  ) {
    const port = (this.port = new RunPort(prepared, rt, opts.params ?? {}, opts.principal, opts.deadlineMs));
    const actor = (this.actor = createActor(rt.machineFor(prepared.levelSizes.length), {
      // The actor's id is the query's, so the inspector lists each query by name.
      id: prepared.id,
      input: { queryId: port.queryId, errorPolicy: port.errorPolicy, schedule: port.schedule, counts: port.counts(), sources: port.sources },
      ...(rt.inspect ? { inspect: rt.inspect } : {}),
    }));
    // Bound until the run ends (#finish, #refuse): see src/run/port-slot.ts.
    bindPort(actor.system, port);
    // A durable run stores with each finished fragment the machine's persisted snapshot as it
    // was once the machine had counted that fragment (see DurableRun.stepped).
    const durable = rt.durable;
    if (durable) {
      durable.snapshotOf = () => actor.getPersistedSnapshot();
      durable.counted = (id) => port.table.counted(prepared.indexOf.get(id)!);
      // With an error listener: XState reports an actor's error as uncaught (a throw on a timer)
      // when any observer lacks one. The error itself ends the run below (`finish`).
      actor.subscribe({ next: () => durable.stepped(), error: () => undefined });
    }

    const result = new Promise<QueryResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller who only reads events must not get an unhandled rejection for a cancel.
    result.catch(() => undefined);
    const finish = this.#finish.bind(this);
    actor.subscribe({ complete: finish, error: finish });
    // XState's stop() of an actor not yet started only marks it stopped (no observer hears of
    // it, start() would run it after all, and its snapshot says `active`, in `planned`, for
    // good): here it is a cancel, like stop() on a running one, and the actor ends as one does,
    // `stopped` (started first, in `planned`, which runs nothing: no port is bound any more).
    const stop = actor.stop.bind(actor);
    actor.stop = () => {
      if (!this.#started) {
        this.#refuse(new TributaryError('CANCELLED', 'the query was cancelled: its actor was stopped'), false);
        actor.start();
      }
      return stop();
    };

    this.run = queryRunOf(this, result);

    const signal = opts.signal;
    if (signal?.aborted) port.stopReason = cancelled(signal.reason);
    // One listener on the signal for every run that shares it (see abort-fanout.ts).
    else if (signal) this.#offAbort = onSignalAbort(signal, () => this.cancel(signal.reason as Error));

    if (gate === undefined) queueMicrotask(this.#begin.bind(this));
    else {
      const stopped = port.stopReason;
      if (stopped) queueMicrotask(() => this.#refuse(stopped));
      gate.then(this.#begin.bind(this), (error: unknown) =>
        this.#refuse(error instanceof TributaryError ? error : new TributaryError('FORBIDDEN', 'authorization failed; nothing ran', { cause: error })),
      );
    }
  }

  cancel(reason?: string | Error): void {
    if (this.#finished) return;
    const port = this.port;
    port.stopReason = cancelled(reason);
    // A recording keeps when and why, so its replay is cancelled at the same moment.
    this.rt.recorder?.cancelled(port.at(), reason === undefined || reason === '' ? undefined : abortMessage(reason));
    if (this.#started) this.actor.send({ type: 'query.cancel', reason: port.stopReason.message });
    else if (this.gate) this.#refuse(port.stopReason);
  }

  rows(result: Promise<QueryResult>, batchSize: number): AsyncIterableIterator<Row[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1) return invalidBatchSize(batchSize);
    const port = this.port;
    const prepared = this.prepared;
    // Called before the run starts, on a tree that can stream: rows flow as they arrive.
    // (Not for a durable run: its fragments' rows are stored, so they are kept whole.)
    if (!this.#started && !port.streaming && !this.rt.durable) {
      port.streaming = RunStreaming.start(
        prepared,
        port.params,
        (id) => port.rows[prepared.indexOf.get(id)!] ?? [],
        () => port.consumerLeft(),
        (id) => port.limitReached(id),
        (name) => port.bound.get(name)?.source.namesColumnsFirst === true,
      );
    }
    return port.streaming ? port.streaming.rows.batches(batchSize) : batches(result, batchSize);
  }

  #begin(): void {
    if (this.#finished) return;
    this.#started = true;
    const { actor, port, prepared } = this;
    // XState's own stop() again: the override would keep this run (and its rows) reachable from the actor.
    Reflect.deleteProperty(actor, 'stop');
    actor.start();
    if (port.events.wanted) port.events.emit({ type: 'query.started', queryId: prepared.id, runId: port.runId, at: port.at(), fragments: prepared.fragments.length, levels: prepared.levelSizes.length });
    if (port.stopReason) actor.send({ type: 'query.cancel', reason: port.stopReason.message });
    else {
      if (port.deadline) port.armDeadline(() => this.#deadlinePassed());
      actor.send({ type: 'query.start' });
    }
  }

  #deadlinePassed(): void {
    if (this.#finished) return;
    const fail = this.port.passDeadline();
    this.actor.send({ type: 'query.deadline', fail, message: `the query passed its ${this.port.deadline!.deadlineMs} ms deadline` });
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const { port, rt, actor } = this;
    unbindPort(actor.system);
    port.disarmDeadline();
    this.#offAbort?.();
    const snapshot = actor.getSnapshot();
    // Stopped from outside (`run.actor.stop()`): a cancel, whatever state it was in.
    if (snapshot.status === 'stopped') port.stopReason ??= new TributaryError('CANCELLED', 'the query was cancelled: its actor was stopped');
    // XState stops the children of an actor that reaches a final state or is stopped, but
    // leaves those of one that errored running: whatever a source actor still runs stops here.
    port.stopRunners();
    // The machine's `failed` state counts the outcomes `events$` already reported whose settle
    // it never took; a stopped (or errored) actor never entered it, so they are counted here,
    // or `progress$` and `result` would leave out a fragment `events$` said had succeeded.
    if (snapshot.status === 'stopped' || snapshot.status === 'error') port.stopped();
    const { out, error, cancelled } = runOutcome(port, snapshot);
    port.streaming?.finish(error);
    port.events.finish(!error);
    rt.ticket?.release();
    rt.onFinished(this.run);
    if (cancelled) this.#reject(error);
    else {
      if (rt.recorder) out.recording = rt.recorder.recording();
      this.#resolve(out);
    }
  }

  /** The run ends before its actor starts (refused, cancelled while authorization is pending, or its actor stopped). */
  #refuse(error: TributaryError, startActor = true): void {
    if (this.#finished || this.#started) return;
    this.#finished = true;
    const port = this.port;
    unbindPort(this.actor.system);
    Reflect.deleteProperty(this.actor, 'stop');
    this.#offAbort?.();
    const durationMs = port.at();
    if (port.events.wanted) port.events.emit({ type: 'query.failed', queryId: this.prepared.id, runId: this.port.runId, at: durationMs, error: publicError(error, port.params), durationMs });
    port.streaming?.finish(error);
    // No fragment got its turn: the last progress counts them all cancelled, so it adds up to total.
    port.events.unsettled(0, this.prepared.fragments.length);
    port.events.finish(false);
    // Nothing started: its fragments give their place in the principal's minute back too.
    this.rt.ticket?.release(false);
    this.rt.onFinished(this.run);
    // The actor, never started, would show `planned` (status active) for good: it ends in
    // `failed` with the reason, without a step that could run anything (unless it was stopped).
    if (startActor) {
      this.actor.start();
      this.actor.send({ type: 'query.refused', code: error.code, message: error.message });
    }
    this.#reject(error);
  }
}

/**
 * The `QueryRun` handed out for `control`. Its methods are methods, not arrow properties: a
 * build that keeps function names (tsx, esbuild's `keepNames`) defines a name on each arrow
 * it makes, per run, where a method has its own.
 */
function queryRunOf(control: RunControl, result: Promise<QueryResult>): QueryRun {
  const { port, rt } = control;
  return {
    queryId: control.prepared.id,
    runId: port.runId,
    actor: control.actor,
    events$: port.events.events$,
    progress$: port.events.progress$,
    result,
    cancel(reason) {
      control.cancel(reason);
    },
    rows(batchSize = 1000) {
      return control.rows(result, batchSize);
    },
    recording() {
      return rt.recorder?.recording();
    },
  };
}

/** CANCELLED, saying why: a caller's Error (or an AbortSignal's reason) reads as its message and is kept as the cause. */
function cancelled(reason: unknown): TributaryError {
  if (reason === undefined || reason === '') return new TributaryError('CANCELLED', 'the query was cancelled');
  return new TributaryError('CANCELLED', `the query was cancelled: ${abortMessage(reason)}`, reason instanceof Error ? { cause: reason } : {});
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
