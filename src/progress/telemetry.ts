import { ProxyTracerProvider, context, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Observable, Subscription } from 'rxjs';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import type { ExecutionEvent, FragmentEvent } from './events.js';
import { endBatch, hedgeCallEnded, hedgeStarted, markWinner, type OpenCall } from './call-spans.js';
import { fail } from './span-failure.js';

/** The instrumentation scope of tributary's spans. */
export const TRACER_NAME = 'tributary';

/** Options of `instrument()`. */
export interface TelemetryOptions {
  /**
   * Where spans go. Default: `trace.getTracer('tributary')`, resolved through the global
   * tracer provider, so spans are no-ops until an OpenTelemetry SDK registers one.
   */
  tracer?: Tracer;
  /**
   * The parent of each query span. Default: the active context when the query starts, so a
   * query run inside a request handler's span becomes its child.
   */
  parent?: () => Context;
}

/**
 * The executor's `telemetry` option: on by default (spans go to the global tracer provider);
 * `false` turns it off; `{ tracer }` sends spans to a tracer of your own.
 */
export const telemetryOptionsSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      tracer: z
        .custom<Tracer>((value) => typeof value === 'object' && value !== null && typeof (value as Tracer).startSpan === 'function', {
          message: 'tracer is an OpenTelemetry Tracer (an object with startSpan)',
        })
        .optional(),
    }),
  ])
  .default(true);

/** What the global tracer provider hands out while no SDK has registered one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * True when spans would be recorded: a tracer of one's own was given, or an SDK has
 * registered a global tracer provider. Checked at each run, so a run pays for telemetry
 * (an event stream, span bookkeeping) only when someone collects it.
 */
export function tracingActive(options: TelemetryOptions = {}): boolean {
  if (options.tracer) return true;
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** A batched bind join's call: which batch (nothing for a fragment of one call). */
const batchAttributes = (batch: { index: number; count: number }): Attributes => (batch.count > 1 ? { 'tributary.batch.index': batch.index, 'tributary.batch.count': batch.count } : {});


interface QueryTrace {
  span: Span;
  ctx: Context;
  /** Open attempt spans per fragment, oldest first. */
  attempts: Map<string, OpenCall[]>;
  /** Fragments that have had a span, so a shared or cached one gets exactly one. */
  traced: Set<string>;
  merge?: Span;
}

/**
 * Turns a stream of `ExecutionEvent`s into OpenTelemetry spans, through `@opentelemetry/api`
 * only (no SDK needed; without one every span is a no-op):
 *
 * - `tributary.query`, one per query, from `query.started` to `query.done` / `query.failed`;
 * - `tributary.fragment`, one per source call (each attempt of each batch), a child of the
 *   query span, from `fragment.started` to the attempt's failure, its batch's answer or the fragment's success;
 *   a fragment served from the cache (or shared with an identical in-flight one) gets one
 *   short span with `tributary.cached`;
 * - `tributary.merge`, a child of the query span, from `merge.started` to the query's end.
 *
 * A hedged call's two calls have a span each (`tributary.hedge.role` primary / hedge); the one
 * that lost ends with `tributary.hedge.outcome = 'lost'`, not as an error (see call-spans.ts).
 * Failures set the span status to ERROR and record the `TributaryError` as an `exception`
 * event whose `exception.type` is the error code. Spans still open when a query ends (the
 * calls a cancel or fail-fast stopped) end with it, as errors.
 *
 * Spans are keyed by `queryId`, so a stream where two runs of the same plan id overlap (an
 * executor's `events$`) cannot tell them apart: instrument each `run.events$` instead, as
 * `createExecutor` does. Returns the subscription; unsubscribing ends every open span.
 *
 * @example
 * const subscription = instrument(run.events$, { tracer: provider.getTracer('my-service') });
 */
export function instrument(events$: Observable<ExecutionEvent>, options: TelemetryOptions = {}): Subscription {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  const parentOf = options.parent ?? (() => context.active());
  const queries = new Map<string, QueryTrace>();

  const fragmentAttributes = (event: FragmentEvent): Attributes => ({
    'tributary.query.id': event.queryId,
    'tributary.fragment.id': event.fragmentId,
    'tributary.source': event.source,
    'tributary.level': event.level,
  });

  const startFragmentSpan = (q: QueryTrace, event: FragmentEvent, attributes: Attributes): Span => {
    q.traced.add(event.fragmentId);
    return tracer.startSpan('tributary.fragment', { attributes: { ...fragmentAttributes(event), ...attributes } }, q.ctx);
  };

  /** The open calls of a fragment (a list kept in `q.attempts`). */
  const openCalls = (q: QueryTrace, fragmentId: string): OpenCall[] => {
    let open = q.attempts.get(fragmentId);
    if (!open) q.attempts.set(fragmentId, (open = []));
    return open;
  };

  /** Ends every open attempt of a fragment, as a success or with the given error. */
  const endAttempts = (q: QueryTrace, fragmentId: string, outcome: { error?: TributaryError; rows?: number }): void => {
    const open = q.attempts.get(fragmentId) ?? [];
    q.attempts.delete(fragmentId);
    for (const a of open) {
      if (outcome.error) fail(a.span, outcome.error);
      else if (outcome.rows !== undefined) {
        a.span.setAttribute(a.batches === 1 ? 'tributary.rows' : 'tributary.fragment.rows', outcome.rows);
        markWinner(a);
      }
      a.span.end();
    }
  };

  const endQuery = (queryId: string, outcome: { status: string; rows?: number; error?: TributaryError }): void => {
    const q = queries.get(queryId);
    if (!q) return;
    queries.delete(queryId);
    const stopped = outcome.error ?? { code: 'CANCELLED', message: 'the query ended before this call finished', name: 'TributaryError' };
    for (const id of [...q.attempts.keys()]) endAttempts(q, id, { error: stopped as TributaryError });
    if (q.merge) {
      if (outcome.error) fail(q.merge, outcome.error);
      else if (outcome.rows !== undefined) q.merge.setAttribute('tributary.rows', outcome.rows);
      q.merge.end();
    }
    q.span.setAttribute('tributary.query.status', outcome.status);
    if (outcome.rows !== undefined) q.span.setAttribute('tributary.rows', outcome.rows);
    if (outcome.error) fail(q.span, outcome.error);
    q.span.end();
  };

  const onEvent = (event: ExecutionEvent): void => {
    if (event.type === 'query.started') {
      // A second start of an id still open means overlapping runs: close the first rather than leak it.
      endQuery(event.queryId, { status: 'unknown' });
      const parent = parentOf();
      const span = tracer.startSpan(
        'tributary.query',
        { attributes: { 'tributary.query.id': event.queryId, 'tributary.run.id': event.runId, 'tributary.query.fragments': event.fragments, 'tributary.query.levels': event.levels } },
        parent,
      );
      // Without an SDK (or when sampled out) nothing records: skip the query's other events,
      // so tracing costs nothing when nobody collects it.
      if (!span.isRecording()) {
        span.end();
        return;
      }
      queries.set(event.queryId, { span, ctx: trace.setSpan(parent, span), attempts: new Map(), traced: new Set() });
      return;
    }
    const q = queries.get(event.queryId);
    if (!q) return;
    switch (event.type) {
      case 'level.started':
        q.span.addEvent('tributary.level.started', { 'tributary.level': event.level, 'tributary.level.fragments': event.fragments });
        return;
      case 'fragment.started': {
        const span = startFragmentSpan(q, event, {
          'tributary.attempt': event.attempt,
          'tributary.cached': false,
          ...batchAttributes(event.batch),
        });
        openCalls(q, event.fragmentId).push({ span, attempt: event.attempt, batch: event.batch.index, batches: event.batch.count });
        return;
      }
      case 'fragment.attempt.failed': {
        // The call of that attempt of that batch failed (batches run side by side, each with its own attempts).
        const open = q.attempts.get(event.fragmentId) ?? [];
        const i = open.findIndex((a) => a.attempt === event.attempt && a.batch === event.batch.index);
        // No open call means the attempt was refused before it started (an open circuit): a short span.
        const span = i < 0 ? startFragmentSpan(q, event, { 'tributary.attempt': event.attempt, 'tributary.cached': false, ...batchAttributes(event.batch) }) : open.splice(i, 1)[0]!.span;
        span.setAttribute('tributary.retryable', event.retryable);
        fail(span, event.error);
        span.end();
        return;
      }
      case 'fragment.retrying':
        q.span.addEvent('tributary.fragment.retrying', {
          'tributary.fragment.id': event.fragmentId,
          'tributary.attempt': event.attempt,
          'tributary.retry.delay_ms': event.delayMs,
          ...batchAttributes(event.batch),
        });
        return;
      case 'fragment.remote':
        q.span.addEvent('tributary.fragment.remote', {
          'tributary.fragment.id': event.fragmentId,
          'tributary.attempt': event.attempt,
          'tributary.worker': event.worker,
          'tributary.job.id': event.jobId,
          ...batchAttributes(event.batch),
        });
        return;
      case 'fragment.cached':
        startFragmentSpan(q, event, { 'tributary.attempt': 0, 'tributary.cached': true, 'tributary.rows': event.rowCount }).end();
        return;
      case 'fragment.succeeded':
        if (!q.traced.has(event.fragmentId)) {
          // Served by an identical in-flight fragment: no call of its own, one short span.
          startFragmentSpan(q, event, { 'tributary.attempt': event.attempts, 'tributary.cached': event.cached, 'tributary.rows': event.rowCount }).end();
        }
        endAttempts(q, event.fragmentId, { rows: event.rowCount });
        return;
      case 'fragment.failed':
        if (!q.traced.has(event.fragmentId)) {
          // Failed before any call (e.g. binding its inputs): still one span, so the error shows.
          const span = startFragmentSpan(q, event, { 'tributary.attempt': event.attempts, 'tributary.cached': false });
          fail(span, event.error);
          span.end();
        }
        endAttempts(q, event.fragmentId, { error: event.error });
        return;
      case 'fragment.dropped':
        q.span.addEvent('tributary.fragment.dropped', { 'tributary.fragment.id': event.fragmentId, 'tributary.fragment.reason': event.reason });
        endAttempts(q, event.fragmentId, { error: new TributaryError('TIMEOUT', `fragment "${event.fragmentId}" was dropped at the deadline`) });
        return;
      case 'fragment.cancelled':
        endAttempts(q, event.fragmentId, { error: new TributaryError('CANCELLED', `fragment "${event.fragmentId}" was stopped when its query ended`) });
        return;
      case 'fragment.skipped':
        q.span.addEvent('tributary.fragment.skipped', { 'tributary.fragment.id': event.fragmentId, 'tributary.fragment.because': event.because });
        return;
      case 'source.circuit.opened':
        q.span.addEvent('tributary.source.circuit.opened', { 'tributary.source': event.source, 'tributary.fragment.id': event.fragmentId, 'tributary.circuit.failures': event.failures });
        return;
      case 'source.circuit.closed':
        q.span.addEvent('tributary.source.circuit.closed', { 'tributary.source': event.source, 'tributary.fragment.id': event.fragmentId });
        return;
      case 'source.limit.changed':
        q.span.addEvent('tributary.source.limit.changed', { 'tributary.source': event.source, 'tributary.fragment.id': event.fragmentId, 'tributary.source.limit': event.limit, 'tributary.source.limit.previous': event.previous });
        return;
      case 'fragment.hedged':
        q.span.addEvent('tributary.fragment.hedged', {
          'tributary.source': event.source,
          'tributary.fragment.id': event.fragmentId,
          'tributary.attempt': event.attempt,
          'tributary.hedge.after_ms': event.afterMs,
          // Which call of a batched bind join was hedged, as on its fragment span.
          ...batchAttributes(event.batch),
        });
        // The extra call gets its own span; the first one is marked the pair's primary.
        hedgeStarted(openCalls(q, event.fragmentId), event, (attributes) => startFragmentSpan(q, event, { ...attributes, ...batchAttributes(event.batch) }));
        return;
      case 'fragment.batch.succeeded':
        // That batch's calls end here, as successes: another batch failing later is not theirs.
        endBatch(openCalls(q, event.fragmentId), event);
        return;
      case 'fragment.hedge.ended':
        hedgeCallEnded(openCalls(q, event.fragmentId), event);
        return;
      case 'cache.unavailable':
        q.span.addEvent('tributary.cache.unavailable', { 'tributary.fragment.id': event.fragmentId, 'tributary.cache.reason': event.reason });
        return;
      case 'fragment.queued':
      case 'fragment.joined':
        // A joined load gets its one short span when it settles (no call of its own).
        return;
      case 'merge.started':
        q.merge = tracer.startSpan('tributary.merge', { attributes: { 'tributary.query.id': event.queryId } }, q.ctx);
        return;
      case 'query.done':
        endQuery(event.queryId, { status: event.status, rows: event.rowCount });
        return;
      case 'query.failed':
        endQuery(event.queryId, { status: event.error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: event.error });
        return;
      default:
        event satisfies never;
    }
  };

  const subscription = events$.subscribe({
    next: onEvent,
    complete: () => {
      for (const id of [...queries.keys()]) endQuery(id, { status: 'unknown' });
    },
  });
  subscription.add(() => {
    for (const id of [...queries.keys()]) endQuery(id, { status: 'unknown' });
  });
  return subscription;
}
