import { Observable, defer, from, map, mergeMap, retry, throwError, timeout, timer, toArray } from 'rxjs';
import { FragmentError, TributaryError } from '../errors.js';
import type { Fragment } from '../plan/index.js';
import type { UnstampedEvent } from '../progress/events.js';
import type { Principal, Row, SourceExecutor } from '../sources/source.js';
import { bindCalls, type BindContext, type BoundCall } from './bind.js';
import { toFragmentError } from './classify.js';
import type { Lane } from './lanes.js';
import { backoffDelay, type RetryPolicy } from './retry.js';
import { sourceCall$ } from './source-call.js';

/** The cache as the pipeline sees it: a port, so `execution/` never knows the store. */
export interface FragmentCachePort {
  /** The key of a fragment's calls under the principal's scope; undefined to bypass. */
  keyOf(calls: readonly BoundCall[]): Promise<string | undefined>;
  get(key: string): Promise<Row[] | undefined>;
  set(key: string, rows: Row[]): void;
  /**
   * Runs `load$` once for every concurrent caller of the same key: the first caller's
   * observable is shared, and it is unsubscribed only when the last caller leaves.
   */
  share(key: string, load$: Observable<FragmentOutcome>): Observable<FragmentOutcome>;
}

/** Rows and the effort it took. */
export interface FragmentOutcome {
  rows: Row[];
  attempts: number;
  calls: number;
}

/** Everything one fragment's pipeline needs; built by the executor per run. */
export interface FragmentDeps {
  fragment: Fragment;
  /** Path of the fragment in the plan, for error issues (`fragments[2]`). */
  path: string;
  level: number;
  source: SourceExecutor;
  lanes: { global: Lane; source: Lane };
  retry: RetryPolicy;
  timeoutMs: number;
  bind: BindContext;
  principal?: Principal;
  limits: { maxRows?: number; maxBytes?: number };
  cache?: FragmentCachePort;
  /** Milliseconds since the query started. */
  now(): number;
  random?: () => number;
  /** Why the run is being stopped (cancel reason, fail-fast error), for the abort signal. */
  abortReason(): unknown;
  /** Where the fragment's rows go; they never travel in events or machine context. */
  store(rows: Row[]): void;
}

/**
 * The RxJS pipeline of one fragment, as a stream of its events: cache lookup → lanes
 * (source, then global) → `source.execute(signal)` → per-attempt timeout → retry with
 * backoff for retryable errors → rows stored → `fragment.succeeded` (or `fragment.failed`).
 * It never errors: a failure is an event. Unsubscribing aborts any running source call.
 */
export function fragment$(d: FragmentDeps): Observable<UnstampedEvent> {
  const id = d.fragment.id;
  const sourceName = d.fragment.source;
  const base = { fragmentId: id, source: sourceName, level: d.level };

  return new Observable<UnstampedEvent>((subscriber) => {
    const emit = (event: UnstampedEvent): void => subscriber.next(event);
    const startedAt = d.now();
    let maxAttempts = 0;
    emit({ type: 'fragment.queued', ...base });

    const fail = (error: FragmentError): void => {
      emit({ type: 'fragment.failed', ...base, attempts: Math.max(maxAttempts, error.attempt), startedAt, durationMs: Math.round((d.now() - startedAt) * 1000) / 1000, error });
      subscriber.complete();
    };

    let calls: BoundCall[];
    try {
      calls = bindCalls(d.fragment, d.bind, d.path);
    } catch (error) {
      fail(toFragmentError(error, { fragmentId: id, sourceName, source: d.source, attempt: 0 }));
      return undefined;
    }

    const attempt$ = (call: BoundCall, batchIndex: number): Observable<{ rows: Row[]; attempts: number }> => {
      let attempt = 0;
      return defer(() => {
        attempt++;
        maxAttempts = Math.max(maxAttempts, attempt);
        const n = attempt;
        const controller = new AbortController();
        const work$ = defer(() => {
          emit({ type: 'fragment.started', ...base, attempt: n, batch: { index: batchIndex, count: calls.length } });
          return sourceCall$(d.source, call.query, { params: call.params, principal: d.principal, fragmentId: id, limits: d.limits }, controller, d.abortReason).pipe(
            timeout({
              first: d.timeoutMs,
              with: () => {
                const error = new TributaryError('TIMEOUT', `attempt ${n} of fragment "${id}" took longer than ${d.timeoutMs} ms`);
                controller.abort(error);
                return throwError(() => error);
              },
            }),
          );
        });
        return d.lanes.source.schedule(d.lanes.global.schedule(work$)).pipe(
          map((rows) => ({ rows, attempts: n })),
          (source) =>
            new Observable<{ rows: Row[]; attempts: number }>((sub) =>
              source.subscribe({
                next: (v) => sub.next(v),
                complete: () => sub.complete(),
                error: (raw: unknown) => {
                  const error = toFragmentError(raw, { fragmentId: id, sourceName, source: d.source, attempt: n });
                  emit({ type: 'fragment.attempt.failed', ...base, attempt: n, retryable: error.retryable, error });
                  sub.error(error);
                },
              }),
            ),
        );
      }).pipe(
        retry({
          count: d.retry.attempts - 1,
          delay: (error: FragmentError, retryCount) => {
            if (!error.retryable) return throwError(() => error);
            const delayMs = backoffDelay(d.retry, retryCount, d.random, error.retryAfterMs);
            emit({ type: 'fragment.retrying', ...base, attempt: retryCount + 1, delayMs });
            return timer(delayMs);
          },
        }),
      );
    };

    const load$: Observable<FragmentOutcome> = from(calls.map((call, i) => ({ call, i }))).pipe(
      mergeMap(({ call, i }) => attempt$(call, i).pipe(map((r) => ({ ...r, i })))),
      toArray(),
      map((parts) => {
        parts.sort((a, b) => a.i - b.i);
        const rows = parts.length === 1 ? parts[0]!.rows : parts.flatMap((p) => p.rows);
        if (d.limits.maxRows !== undefined && rows.length > d.limits.maxRows) {
          throw new FragmentError('LIMIT_EXCEEDED', `fragment "${id}" returned ${rows.length} rows; the limit is ${d.limits.maxRows}`, {
            fragmentId: id,
            source: sourceName,
            attempt: maxAttempts,
          });
        }
        return { rows, attempts: parts.reduce((m, p) => Math.max(m, p.attempts), 0), calls: parts.reduce((s, p) => s + p.attempts, 0) };
      }),
    );

    const succeed = (outcome: FragmentOutcome, cached: boolean): void => {
      d.store(outcome.rows);
      emit({
        type: 'fragment.succeeded',
        ...base,
        rowCount: outcome.rows.length,
        attempts: outcome.attempts,
        calls: outcome.calls,
        cached,
        startedAt,
        durationMs: Math.round((d.now() - startedAt) * 1000) / 1000,
      });
      subscriber.complete();
    };

    const cache = d.cache;
    const pipeline$: Observable<{ outcome: FragmentOutcome; cached: boolean }> =
      calls.length === 0 || !cache
        ? load$.pipe(map((outcome) => ({ outcome, cached: false })))
        : defer(async () => {
            const key = await cache.keyOf(calls);
            const hit = key === undefined ? undefined : await cache.get(key);
            return { key, hit };
          }).pipe(
            mergeMap(({ key, hit }) => {
              if (hit) {
                emit({ type: 'fragment.cached', ...base, rowCount: hit.length });
                return [{ outcome: { rows: hit, attempts: 0, calls: 0 }, cached: true }];
              }
              if (key === undefined) return load$.pipe(map((outcome) => ({ outcome, cached: false })));
              return cache.share(key, load$).pipe(
                map((outcome) => {
                  cache.set(key, outcome.rows);
                  return { outcome, cached: false };
                }),
              );
            }),
          );

    const subscription = pipeline$.subscribe({
      next: ({ outcome, cached }) => succeed(outcome, cached),
      error: (error: unknown) => fail(toFragmentError(error, { fragmentId: id, sourceName, source: d.source, attempt: maxAttempts })),
    });
    return () => subscription.unsubscribe();
  });
}
