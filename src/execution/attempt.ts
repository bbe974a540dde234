import { NEVER, Observable, defer, map, mergeMap, race, retry, throwError, timer } from 'rxjs';
import { FragmentError, TributaryError } from '../errors.js';
import type { UnstampedEvent } from '../progress/events.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { BoundCall } from './bind.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { toFragmentError } from './classify.js';
import type { Lane } from './lanes.js';
import type { RetryBudget } from './retry-budget.js';
import { backoffDelay, type RetryPolicy } from './retry.js';
import { sourceCall$, type BatchSink, type CallOutput } from './source-call.js';

/** The per-source guards shared by every fragment on that source. */
export interface SourceGuards {
  breaker?: CircuitBreaker;
  budget?: RetryBudget;
}

/** What the tries of one source call need. */
export interface AttemptDeps {
  fragmentId: string;
  sourceName: string;
  level: number;
  source: SourceExecutor;
  lanes: { global: Lane; source: Lane };
  retry: RetryPolicy;
  timeoutMs: number;
  principal?: Principal;
  limits: { maxRows?: number; maxBytes?: number };
  guards: SourceGuards;
  random?: () => number;
  /** Milliseconds left before the fragment's overall deadline (Infinity without one). */
  timeLeft(): number;
  abortReason(): unknown;
  emit(event: UnstampedEvent): void;
  /** Streamed batches go here (see `BatchSink`); absent: rows are collected. */
  sink?: BatchSink;
  /** With a sink: keep the rows as well. */
  retain?: boolean;
}

/** One call's output and the tries it took. */
export type AttemptOutput = CallOutput & { attempts: number };

/**
 * Every try of one source call: circuit check → a slot in the source's lane, then the
 * global one → `execute` under the per-attempt timeout → on a retryable failure, a backoff
 * paid from the source's retry budget and bounded by the time left. Emits the fragment's
 * `started` / `attempt.failed` / `retrying` events; errors with the last `FragmentError`.
 */
export function attempts$(d: AttemptDeps, call: BoundCall, batch: { index: number; count: number }): Observable<AttemptOutput> {
  const base = { fragmentId: d.fragmentId, source: d.sourceName, level: d.level };
  const fragmentError = (raw: unknown, attempt: number): FragmentError =>
    toFragmentError(raw, { fragmentId: d.fragmentId, sourceName: d.sourceName, source: d.source, attempt });
  let attempt = 0;
  const circuitOpen = (n: number): FragmentError =>
    new FragmentError('SOURCE_UNAVAILABLE', `source "${d.sourceName}" is unavailable: its circuit is open after repeated failures`, {
      fragmentId: d.fragmentId,
      source: d.sourceName,
      attempt: n,
      retryable: false,
    });
  // Once a batch has been handed on, trying again would hand it on twice.
  let streamed = false;
  const streaming = d.sink ? { sink: d.sink, retain: d.retain ?? false, onFirstBatch: () => (streamed = true) } : undefined;

  const once$ = defer(() => {
    const n = ++attempt;
    const { breaker } = d.guards;
    if (breaker && !breaker.tryPass()) {
      // An open circuit fails at once: no slot taken, no network touched.
      const error = circuitOpen(n);
      d.emit({ type: 'fragment.attempt.failed', ...base, attempt: n, retryable: false, error });
      return throwError(() => error);
    }
    const controller = new AbortController();
    let rejectedByCircuit = false;
    const work$ = defer(() => {
      // The circuit may have opened while this call waited for its slots: fail now, without
      // counting it against the breaker, rather than send one more request to a dead source.
      if (breaker && breaker.state() === 'open') {
        rejectedByCircuit = true;
        return throwError(() => circuitOpen(n));
      }
      d.emit({ type: 'fragment.started', ...base, attempt: n, batch });
      // A race, not `timeout()`: `timeout` unsubscribes the call before its `with` runs, so
      // the source's signal would fire with the cancel reason instead of the TIMEOUT error.
      const deadline$ = timer(d.timeoutMs).pipe(
        mergeMap(() => {
          // A streaming call is timed to its first batch; after that a slow consumer, not
          // the source, sets the pace (the fragment's deadline still bounds it).
          if (streamed) return NEVER;
          const error = new TributaryError('TIMEOUT', `attempt ${n} of fragment "${d.fragmentId}" took longer than ${d.timeoutMs} ms`);
          controller.abort(error);
          return throwError(() => error);
        }),
      );
      return race(
        sourceCall$(
          d.source,
          call.query,
          {
            params: call.params,
            principal: d.principal,
            fragmentId: d.fragmentId,
            limits: d.limits,
            onRemote: (info) => d.emit({ type: 'fragment.remote', ...base, attempt: n, ...info }),
          },
          controller,
          d.abortReason,
          streaming,
        ),
        deadline$,
      );
    });
    return new Observable<AttemptOutput>((sub) =>
      d.lanes.source
        .schedule(d.lanes.global.schedule(work$))
        .pipe(map((output) => ({ ...output, attempts: n })))
        .subscribe({
          next: (value) => {
            record(true);
            d.guards.budget?.recordSuccess(n > 1);
            sub.next(value);
          },
          complete: () => sub.complete(),
          error: (raw: unknown) => {
            const error = fragmentError(raw, n);
            // Only failures that say "the source is unwell" count against its circuit; a
            // rejected query (syntax, permission) proves the source answered.
            if (!rejectedByCircuit && (!controller.signal.aborted || error.code === 'TIMEOUT')) record(!error.retryable);
            d.emit({ type: 'fragment.attempt.failed', ...base, attempt: n, retryable: error.retryable, error });
            sub.error(error);
          },
        }),
    );
  });

  const record = (success: boolean): void => {
    const transition = d.guards.breaker?.record(success);
    if (transition === 'opened') d.emit({ type: 'source.circuit.opened', ...base, failures: d.guards.breaker!.consecutiveFailures() });
    if (transition === 'closed') d.emit({ type: 'source.circuit.closed', ...base });
  };

  return once$.pipe(
    retry({
      count: d.retry.attempts - 1,
      delay: (error: FragmentError, retryCount) => {
        if (!error.retryable || streamed) return throwError(() => error);
        const delayMs = backoffDelay(d.retry, retryCount, d.random, error.retryAfterMs);
        if (delayMs >= d.timeLeft()) return throwError(() => error);
        if (d.guards.budget && !d.guards.budget.trySpend(error.code === 'TIMEOUT')) {
          return throwError(
            () =>
              new FragmentError('RETRY_BUDGET_EXHAUSTED', `source "${d.sourceName}" has spent its retry budget; not retrying: ${error.message}`, {
                fragmentId: d.fragmentId,
                source: d.sourceName,
                attempt: error.attempt,
                retryable: false,
                cause: error,
                driverCode: error.driverCode,
              }),
          );
        }
        d.emit({ type: 'fragment.retrying', ...base, attempt: retryCount + 1, delayMs });
        return timer(delayMs);
      },
    }),
  );
}
