import type { FragmentDroppedEvent, FragmentFailedEvent, FragmentSucceededEvent } from '../progress/events.js';
import type { Dispatch } from './scheduler.js';
import type { FragmentCounts } from './status-table.js';
import type { LateSettle } from './settle.js';

/** The event a source actor sends its query actor when one of its fragments settles. */
export type SettleEvent = FragmentSucceededEvent | FragmentFailedEvent | FragmentDroppedEvent;

/** What may start now (see `QueryPort.takeReady`). */
export interface Ready {
  /** Per source (index into `sources`), the fragments to send to its actor. */
  send: Dispatch | undefined;
  /** Settle events of fragments answered from the in-process cache at once. */
  cached: FragmentSucceededEvent[] | undefined;
}

/** Runs one source's fragments for a source actor. */
export interface SourceRunner {
  /** Starts these fragments (indices into the prepared plan) through the source's pipeline. */
  run(fragments: readonly number[]): void;
  /** Stops every fragment still running: their source calls are aborted. */
  stop(): void;
  /**
   * The reader of `run.rows()` left: every fragment still running or waiting is stopped (its
   * calls aborted, or withdrawn from their lanes) and settles at once, cut short. With
   * `fragment`, only that one (a satisfied limit no longer wants its rows).
   */
  leave(fragment?: number): void;
  /** Stops one fragment (the query's deadline passed): its calls are aborted, it settles no more. */
  drop(fragment: number): void;
}

/** Per-source figures in the query machine's context. */
export interface SourceCounts {
  sent: number;
  succeeded: number;
  failed: number;
  cached: number;
}

/**
 * What the query machine and its source actors need from a run: the machine definitions
 * are shared by every run of every plan with the same number of levels, and this port,
 * passed in through `input`, is what makes one actor one run. @internal
 */
export interface QueryPort {
  readonly queryId: string;
  readonly runId: string;
  readonly errorPolicy: 'fail-fast' | 'partial';
  readonly schedule: 'levels' | 'eager';
  /** The sources the plan uses: one child actor each, with these ids. */
  readonly sources: readonly string[];
  /**
   * The machine entered `executing-level-<level>`: the level is announced (`level.started`)
   * unless the event of one of its fragments announced it first (see `RunEvents.levelsStarted`).
   */
  levelStarted(level: number): void;
  /**
   * The fragments that may start now: those to send to their source actors, and those the
   * in-process cache already answers (recorded as succeeded; the machine counts them settled
   * in the same step, without an event of their own).
   */
  takeReady(level: number): Ready | undefined;
  /** True the first time a source needs its actor (spawned on demand). */
  needsActor(source: string): boolean;
  /**
   * The machine took a settle event: the fragment counts as finished (its level's count and
   * the totals), and a success releases its dependents. The counts the machine reads move
   * only here, so a level never looks finished before the events that finish it are taken.
   */
  settled(event: SettleEvent): void;
  /**
   * True when `event` is the settle a source actor (or the run) recorded and the machine has
   * not taken yet. False for one the run never recorded — a forged `run.actor.send()`, an
   * unknown fragment — or one already counted: the machine ignores it.
   */
  due(event: SettleEvent): boolean;
  /** Under `partial`: every fragment downstream of a failed one is skipped. */
  skipDownstream(event: SettleEvent): void;
  /**
   * The query failed: a fragment whose outcome was recorded but whose settle event the
   * machine never took is counted (and returned, for its source's figures), and every pending
   * fragment that can never run (one it depends on did not succeed) is skipped, so the last
   * counts agree with the result's statuses and with `events$`.
   */
  stopped(): readonly LateSettle[];
  /** The settle events of the fragments the query's deadline stopped (once: taken, they are gone). */
  takeDeadlineSettled(): readonly SettleEvent[];
  counts(): FragmentCounts;
  /** The lowest level with an unfinished fragment. */
  lowestOpenLevel(): number;
  mergeStarted(): void;
  /** Merges the fragments' rows; returns the merged row count (or, for a streamed run still handing rows on, a promise of it) or throws. */
  merge(): number | Promise<number>;
  /** The runner behind the source actor `name`; `settle` sends its events to the query actor. */
  sourceRunner(name: string, settle: (event: SettleEvent) => void): SourceRunner;
}
