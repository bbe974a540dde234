import { Observable, defer, from, map, mergeMap, tap, throwError, timeout, toArray } from 'rxjs';
import { FragmentError } from '../errors.js';
import type { Fragment } from '../plan/index.js';
import type { UnstampedEvent } from '../progress/events.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { Row } from '../data/row.js';
import { attempts$, type SourceGuards } from './attempt.js';
import type { BatchSink } from './source-call.js';
import { bindCalls, type BindContext, type BoundCall } from './bind.js';
import { toFragmentError } from './classify.js';
import type { Lane } from './lanes.js';
import type { RetryPolicy } from './retry.js';

/** The cache as the pipeline sees it: a port, so `execution/` never knows the store. */
export interface FragmentCachePort {
  /** The key of a fragment's calls under the principal's scope; undefined to bypass. */
  keyOf(calls: readonly BoundCall[]): Promise<string | undefined>;
  /**
   * The cached rows, or undefined. `onUnavailable(reason)` is called when a level of the
   * cache (a shared store) could not answer in time; the lookup is then a miss.
   */
  get(key: string, onUnavailable?: (reason: string) => void): Promise<Row[] | undefined>;
  /** Stores a successful load's rows; called once per load, never for a failed or cancelled one. */
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
  /** Rows the sources returned (more than `rows.length` when streamed rows were not kept). */
  count?: number;
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
  /** The fragment's overall deadline, every attempt and wait included; none if undefined. */
  deadlineMs?: number;
  guards?: SourceGuards;
  bind: BindContext;
  principal?: Principal;
  limits: { maxRows?: number; maxBytes?: number };
  cache?: FragmentCachePort;
  /** Counts fetched rows against the query's quota; throws LIMIT_EXCEEDED past it. */
  account?(rows: readonly Row[]): void;
  /** Milliseconds since the query started. */
  now(): number;
  random?: () => number;
  /** Why the run is being stopped (cancel reason, fail-fast error), for the abort signal. */
  abortReason(): unknown;
  /** Where the fragment's rows go; they never travel in events or machine context. */
  store(rows: Row[]): void;
  /**
   * Streaming: batches go to the sink as they arrive (and bypass the cache). `retain` keeps
   * them for `store` as well; `satisfied()` true means nobody needs more rows, so a
   * fragment that has not started yet succeeds with none.
   */
  stream?: { sink: BatchSink; retain: boolean; satisfied(): boolean };
}

const ms = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * The RxJS pipeline of one fragment, as a stream of its events: bind upstream values →
 * cache lookup (or join an identical in-flight load) → one `attempts$` per batch (lanes,
 * timeout, retries) → rows stored → `fragment.succeeded` (or `fragment.failed`). It never
 * errors: a failure is an event. Unsubscribing aborts every running source call.
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
      emit({ type: 'fragment.failed', ...base, attempts: Math.max(maxAttempts, error.attempt), startedAt, durationMs: ms(d.now() - startedAt), error });
      subscriber.complete();
    };
    const asFragmentError = (error: unknown): FragmentError =>
      toFragmentError(error, { fragmentId: id, sourceName, source: d.source, attempt: maxAttempts });

    let calls: BoundCall[];
    try {
      calls = bindCalls(d.fragment, d.bind, d.path);
    } catch (error) {
      fail(asFragmentError(error));
      return undefined;
    }

    const deadlineAt = d.deadlineMs === undefined ? Infinity : startedAt + d.deadlineMs;
    const tries = {
      fragmentId: id,
      sourceName,
      level: d.level,
      source: d.source,
      lanes: d.lanes,
      retry: d.retry,
      timeoutMs: d.timeoutMs,
      principal: d.principal,
      limits: d.limits,
      guards: d.guards ?? {},
      random: d.random,
      timeLeft: () => deadlineAt - d.now(),
      abortReason: d.abortReason,
      emit: (event: UnstampedEvent) => {
        if (event.type === 'fragment.started') maxAttempts = Math.max(maxAttempts, event.attempt);
        emit(event);
      },
      ...(d.stream ? { sink: d.stream.sink, retain: d.stream.retain } : {}),
    };
    if (d.stream?.satisfied()) calls = [];

    let load$: Observable<FragmentOutcome> = from(calls.map((call, i) => ({ call, i }))).pipe(
      mergeMap(({ call, i }) => attempts$(tries, call, { index: i, count: calls.length }).pipe(map((r) => ({ ...r, i })))),
      toArray(),
      map((parts) => {
        parts.sort((a, b) => a.i - b.i);
        const rows = parts.length === 1 ? parts[0]!.rows : parts.flatMap((p) => p.rows);
        const count = parts.reduce((sum, p) => sum + p.count, 0);
        if (d.limits.maxRows !== undefined && rows.length > d.limits.maxRows) {
          throw new FragmentError('LIMIT_EXCEEDED', `fragment "${id}" returned ${rows.length} rows; the limit is ${d.limits.maxRows}`, {
            fragmentId: id,
            source: sourceName,
            attempt: maxAttempts,
          });
        }
        return { rows, count, attempts: parts.reduce((m, p) => Math.max(m, p.attempts), 0), calls: parts.reduce((s, p) => s + p.attempts, 0) };
      }),
    );
    if (d.deadlineMs !== undefined) {
      const deadline = d.deadlineMs;
      load$ = load$.pipe(
        timeout({
          first: deadline,
          with: () =>
            throwError(
              () =>
                new FragmentError('TIMEOUT', `fragment "${id}" passed its ${deadline} ms deadline (all attempts included)`, {
                  fragmentId: id,
                  source: sourceName,
                  attempt: maxAttempts,
                  retryable: false,
                }),
            ),
        }),
      );
    }

    const fetched$ = (): Observable<{ outcome: FragmentOutcome; cached: boolean }> => load$.pipe(map((outcome) => ({ outcome, cached: false })));
    const cache = d.cache;
    const pipeline$: Observable<{ outcome: FragmentOutcome; cached: boolean }> =
      calls.length === 0 || !cache || d.stream
        ? fetched$()
        : defer(async () => {
            const key = await cache.keyOf(calls);
            const hit = key === undefined ? undefined : await cache.get(key, (reason) => emit({ type: 'cache.unavailable', ...base, reason }));
            return { key, hit };
          }).pipe(
            mergeMap(({ key, hit }) => {
              if (hit) {
                emit({ type: 'fragment.cached', ...base, rowCount: hit.length });
                return [{ outcome: { rows: hit, attempts: 0, calls: 0 }, cached: true }];
              }
              if (key === undefined) return fetched$();
              // Stored inside the shared load: once per load, only when it succeeded.
              return cache.share(key, load$.pipe(tap((outcome) => cache.set(key, outcome.rows)))).pipe(map((outcome) => ({ outcome, cached: false })));
            }),
          );

    const subscription = pipeline$.subscribe({
      next: ({ outcome, cached }) => {
        try {
          if (!cached) d.account?.(outcome.rows);
        } catch (error) {
          fail(asFragmentError(error));
          return;
        }
        d.store(outcome.rows);
        emit({
          type: 'fragment.succeeded',
          ...base,
          rowCount: outcome.count ?? outcome.rows.length,
          attempts: outcome.attempts,
          calls: outcome.calls,
          cached,
          startedAt,
          durationMs: ms(d.now() - startedAt),
        });
        subscriber.complete();
      },
      error: (error: unknown) => fail(asFragmentError(error)),
    });
    return () => subscription.unsubscribe();
  });
}
