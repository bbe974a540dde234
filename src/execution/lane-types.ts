import type { Observable } from 'rxjs';
import type { AdaptiveLimit } from './adaptive-limit.js';
import type { Clock } from './clock.js';

/* What a concurrency lane offers its callers; the lane itself is in lanes.ts. */

/** Occupancy of one lane. */
export interface LaneStats {
  limit: number;
  running: number;
  queued: number;
}

/** Why a lane turned a call away instead of queueing it (see `LaneOptions`). */
export type ShedReason = { kind: 'queue-full'; maxQueued: number } | { kind: 'queue-timeout'; maxQueueMs: number };

/**
 * Who waits for a slot: `granted()` is called when it has one. `shed()` is called instead
 * when the lane sheds the call (a full queue or a wait past `maxQueueMs`): the ticket is
 * then done, holding nothing.
 */
export interface LaneClient {
  granted(): void;
  shed?(reason: ShedReason): void;
}

/** Load shedding and adaptation of one lane. */
export interface LaneOptions {
  /** Most calls waiting for a slot; one more is shed at once. Default: no bound. */
  maxQueued?: number;
  /** Longest wait for a slot, on `clock`; a call waiting longer is shed. Default: no bound. */
  maxQueueMs?: number;
  /** Where `maxQueueMs` reads time (the executor's clock); without one, `maxQueueMs` is ignored. */
  clock?: Clock;
  /** Makes the limit adaptive: it starts at `adaptive.limit` and follows its samples. */
  adaptive?: AdaptiveLimit;
}

/** A slot asked of a lane: held once `granted` has been called, until it is released. */
export interface LaneTicket {
  /** Gives the slot back (or leaves the queue). `later`: hand it on at the next microtask. */
  release(later?: boolean): void;
}

/**
 * A concurrency lane shared by every fragment of every query of an executor: at most
 * `limit` holders at once, the rest wait in FIFO order.
 *
 * A counter and a queue rather than RxJS's `mergeMap(…, limit)` over a subject of jobs:
 * measured here, a job through `mergeMap` cost 12–19 µs (an inner subscription per job,
 * and `Array#shift` on its buffer, O(n) when thousands wait), a counter 0.4 µs, and the
 * lane is on every source call's path. `schedule()` still offers it as an RxJS operator.
 */
export interface Lane {
  /** Calls `client.granted()` when a slot is free — at once if one is — or `client.shed()`. */
  acquire(client: LaneClient): LaneTicket;
  /** A slot now, or none: never queues (a hedged request's extra call). */
  tryAcquire(): LaneTicket | undefined;
  /** Slots held right now. */
  readonly running: number;
  /** Entries the queue holds, calls still waiting and ones that left but were not yet passed over (stays near `stats().queued`). @internal */
  readonly backlog: number;
  /** The adaptive limit, when the lane has one (`LaneOptions.adaptive`). */
  readonly adaptive: AdaptiveLimit | undefined;
  /**
   * Feeds the adaptive limit one finished call (see `AdaptiveLimit.sample`) and applies its
   * new limit; returns the previous limit when it changed, else undefined.
   */
  sample(startedAt: number, rttMs: number, inflight: number, overload: boolean): number | undefined;
  /** Runs `work` when a slot is free; unsubscribing frees the slot or leaves the queue. */
  schedule<T>(work: Observable<T>): Observable<T>;
  stats(): LaneStats;
  /** Stops accepting work; queued jobs never start. */
  close(): void;
}
