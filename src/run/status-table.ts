import type { FragmentError } from '../errors.js';
import type { PreparedPlan } from './prepare.js';
import { LevelCounts } from './level-counts.js';

/** A fragment's state in a run. */
export type FragmentState = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'dropped';

/** Why a fragment that settled did not contribute all its rows, when the table knows it. */
export type ShortReason = 'deadline' | 'limit-stopped' | 'limit-satisfied' | 'consumer-left';

const STATES: readonly FragmentState[] = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'dropped'];
const enum S {
  Pending,
  Queued,
  Running,
  Succeeded,
  Failed,
  Skipped,
  Dropped,
}

/**
 * `n` copies of `value` in a packed array (pushed, not `new Array(n).fill()`, whose array
 * stays holey: every later read then checks for holes).
 */
function filled(n: number, value: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(value);
  return out;
}

/** Counts over all fragments of a run. */
export interface FragmentCounts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cached: number;
}

/** What a settled fragment reports to the table. */
export interface Settlement {
  attempts: number;
  calls?: number;
  /** Undefined: it never started (dropped before its first attempt). */
  startedAt: number | undefined;
  durationMs: number;
  rowCount?: number;
  cached?: boolean;
  error?: FragmentError;
}

/**
 * The one owner of every fragment's state in a run: status, attempts, calls, rows, timing,
 * error, and the counts derived from them (in total and per level). Arrays indexed by
 * fragment, so recording a change is O(1) and nothing is copied per event. It lives outside
 * the query machine's snapshots: the machine's context holds an immutable projection of its
 * counts, and the result is built from it at the end. @internal
 */
export class StatusTable {
  readonly #state: number[];
  readonly #attempts: number[];
  readonly #calls: number[];
  readonly #rows: number[];
  readonly #cached: number[];
  readonly #startedAt: number[];
  readonly #duration: number[];
  readonly #errors = new Map<number, FragmentError>();
  /** The budgets fragments got from the query's deadline (allocated with the first one). */
  #budgets: number[] | undefined;
  /** Why a fragment fell short (rare: a map, not an array). */
  #reasons: Map<number, ShortReason> | undefined;
  /** Settles the machine has taken (see `settle`). */
  readonly #counted: number[];
  /** Per level, its fragments not finished and how far the outcomes reached. */
  readonly levels: LevelCounts;
  readonly #counts: FragmentCounts;

  constructor(readonly prepared: PreparedPlan) {
    const n = prepared.fragments.length;
    // Plain arrays, not typed ones: a run of a small plan would pay more for ten ArrayBuffers
    // (allocation, and the collector's tracking of them) than for everything else it does.
    // Copies of the plan's templates: a slice is packed and exactly `n` long, where pushing
    // leaves room for 16 more (1.2 KB a run of one fragment) and loops over every fragment.
    const { zeros, nans } = (prepared.tableTemplates ??= { zeros: filled(n, 0), nans: filled(n, Number.NaN) });
    this.#state = zeros.slice();
    this.#attempts = zeros.slice();
    this.#calls = zeros.slice();
    this.#rows = zeros.slice();
    this.#cached = zeros.slice();
    this.#counted = zeros.slice();
    this.#startedAt = nans.slice();
    this.#duration = nans.slice();
    this.levels = new LevelCounts(prepared.levelSizes);
    this.#counts = { total: n, queued: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cached: 0 };
  }

  state(i: number): FragmentState {
    return STATES[this.#state[i]!]!;
  }

  /** A copy of the counts (the machine keeps it in an immutable context). */
  counts(): FragmentCounts {
    return { ...this.#counts };
  }

  /** Sent to its source actor. */
  queued(i: number): void {
    if (this.#state[i] !== S.Pending) return;
    this.#state[i] = S.Queued;
    this.#counts.queued++;
  }

  /** It joined an identical load in flight: running, though it makes no call of its own. */
  joined(i: number): void {
    if (this.#state[i] !== S.Queued) return;
    this.#state[i] = S.Running;
    this.#counts.queued--;
    this.#counts.running++;
  }

  /** An attempt of one of its calls started. */
  started(i: number, attempt: number, at: number): void {
    if (this.#state[i] === S.Queued) {
      this.#state[i] = S.Running;
      this.#counts.queued--;
      this.#counts.running++;
    }
    if (attempt > this.#attempts[i]!) this.#attempts[i] = attempt;
    // Counted as they start, so a fragment stopped before it settled still reports them.
    this.#calls[i]!++;
    if (Number.isNaN(this.#startedAt[i]!)) this.#startedAt[i] = at;
  }

  /** Its outcome, as its source actor reports it. */
  succeeded(i: number, s: Settlement): void {
    if (!this.#finish(i, S.Succeeded, s)) return;
    this.#rows[i] = s.rowCount ?? 0;
    if (s.cached) this.#cached[i] = 1;
  }

  failed(i: number, s: Settlement): void {
    if (!this.#finish(i, S.Failed, s)) return;
    // Rows it streamed before failing did reach the merge.
    this.#rows[i] = s.rowCount ?? 0;
    if (s.error) this.#errors.set(i, s.error);
  }

  /**
   * The query machine took its settle event: it now counts as finished, in its level and in
   * the totals. (Its outcome was recorded before, when its source actor sent the event.)
   * True when this counted it (false: counted before, or not finished).
   */
  settle(i: number): boolean {
    if (this.#counted[i] === 1) return false;
    const state = this.#state[i];
    if (state !== S.Succeeded && state !== S.Failed && state !== S.Dropped) return false;
    this.#counted[i] = 1;
    this.levels.finished(this.prepared.fragments[i]!.level);
    if (state === S.Failed) this.#counts.failed++;
    // A dropped fragment counts with the skipped: it will not contribute.
    else if (state === S.Dropped) this.#counts.skipped++;
    else {
      this.#counts.succeeded++;
      if (this.#cached[i] === 1) this.#counts.cached++;
    }
    return true;
  }

  /** The query machine has counted it as finished (see `settle`). */
  counted(i: number): boolean {
    return this.#counted[i] === 1;
  }

  /** Its outcome is `state` as recorded, and the machine has not counted it yet: a settle event for it is due. */
  awaitsSettle(i: number, state: 'succeeded' | 'failed' | 'dropped'): boolean {
    return this.#counted[i] === 0 && STATES[this.#state[i]!] === state;
  }

  /** Will never run: an upstream fragment failed. */
  skipped(i: number): boolean {
    if (this.#state[i] !== S.Pending) return false;
    this.#state[i] = S.Skipped;
    this.levels.finished(this.prepared.fragments[i]!.level);
    this.#counts.skipped++;
    return true;
  }

  /** Rows it streamed so far: kept when the run stops it (a fail-fast stop, the deadline), as they reached the reader. */
  streamed(i: number, rows: number): void {
    if (this.#state[i] === S.Queued || this.#state[i] === S.Running) this.#rows[i]! += rows;
  }

  /** Dropped at the deadline (an optional fragment): it settles like a failure, without an error. */
  dropped(i: number, s: Settlement): void {
    if (!this.#finish(i, S.Dropped, s)) return;
    this.#rows[i] = s.rowCount ?? this.#rows[i]!;
    this.setReason(i, 'deadline');
  }

  /** Still to be started (neither sent to its source nor finished). */
  isPending(i: number): boolean {
    return this.#state[i] === S.Pending;
  }

  /** Why it fell short: set for a drop, a deadline failure, or rows a satisfied limit cut. */
  reason(i: number): ShortReason | undefined {
    return this.#reasons?.get(i);
  }

  /** Every fragment succeeded (as the machine counted it) and none fell short: the run is complete. */
  allSucceededInFull(): boolean {
    return this.#counts.succeeded === this.#counts.total && this.#reasons === undefined;
  }

  /** @internal */
  setReason(i: number, reason: ShortReason): void {
    (this.#reasons ??= new Map()).set(i, reason);
  }

  /** The budget fragment `i` got from the query's deadline when it started. */
  budgeted(i: number, ms: number): void {
    (this.#budgets ??= new Array<number>(this.prepared.fragments.length).fill(Number.NaN))[i] = ms;
  }

  budgetMs(i: number): number | undefined {
    const v = this.#budgets?.[i];
    return v === undefined || Number.isNaN(v) ? undefined : v;
  }

  #finish(i: number, to: S, s: Settlement): boolean {
    const from = this.#state[i]!;
    if (from === S.Succeeded || from === S.Failed || from === S.Skipped || from === S.Dropped) return false;
    if (from === S.Queued) this.#counts.queued--;
    if (from === S.Running) this.#counts.running--;
    this.levels.outcome(this.prepared.fragments[i]!.level, to === S.Succeeded);
    this.#state[i] = to;
    this.#attempts[i] = Math.max(this.#attempts[i]!, s.attempts);
    this.#calls[i] = s.calls ?? this.#calls[i]!;
    this.#startedAt[i] = s.startedAt ?? Number.NaN;
    this.#duration[i] = s.durationMs;
    return true;
  }

  attempts(i: number): number {
    return this.#attempts[i]!;
  }

  calls(i: number): number {
    return this.#calls[i]!;
  }

  rowCount(i: number): number {
    return this.#rows[i]!;
  }

  cached(i: number): boolean {
    return this.#cached[i] === 1;
  }

  startedAt(i: number): number | undefined {
    const v = this.#startedAt[i]!;
    return Number.isNaN(v) ? undefined : v;
  }

  durationMs(i: number): number | undefined {
    const v = this.#duration[i]!;
    return Number.isNaN(v) ? undefined : v;
  }

  /**
   * How long it ran, up to `endAt` (ms since the query started) for one still running when
   * the query ended (stopped by fail-fast or a cancel); undefined if it never started.
   */
  ranMs(i: number, endAt: number): number | undefined {
    const settled = this.durationMs(i);
    if (settled !== undefined) return settled;
    const started = this.startedAt(i);
    return started === undefined ? undefined : Math.round(Math.max(0, endAt - started) * 1000) / 1000;
  }

  error(i: number): FragmentError | undefined {
    return this.#errors.get(i);
  }
}
