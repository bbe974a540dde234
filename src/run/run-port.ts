import { randomUUID } from 'node:crypto';
import { TributaryError } from '../errors.js';
import type { QueryDeadline } from '../execution/deadline.js';
import type { Row } from '../data/row.js';
import type { BindContext } from '../execution/bind.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { SourceGuards } from '../execution/env.js';
import type { Lane } from '../execution/lanes.js';
import { RunDeadline } from './run-deadline.js';
import { RunEvents } from './events.js';
import type { QueryPort, Ready, SettleEvent, SourceRunner } from './port.js';
import type { PreparedPlan } from './prepare.js';
import { takeReady } from './ready.js';
import { countSettled, finishStopped, recordSettlement, skipBelow, type LateSettle } from './settle.js';
import { mergeRun } from './run-merge.js';
import { Scheduler } from './scheduler.js';
import { createSourceRunner } from './source-runner.js';
import { StatusTable, type FragmentCounts } from './status-table.js';
import type { RunStreaming } from './streaming.js';
import type { RunRuntime } from './types.js';

/**
 * One run's state behind its query actor: the status table, the scheduler, the rows, the
 * events and the merge. The machine reaches it through `QueryPort`; the source actors
 * through their runners. Its parts live beside it: what may start now (ready.ts), what a
 * settled fragment changes (settle.ts), the deadline (run-deadline.ts), the merge
 * (run-merge.ts). @internal
 */
export class RunPort implements QueryPort, BindContext {
  readonly queryId: string;
  /** This run's own id: the durable run's, else a random UUID (see `QueryRun.runId`). */
  readonly runId: string;
  readonly errorPolicy: 'fail-fast' | 'partial';
  readonly schedule: 'levels' | 'eager';
  readonly sources: readonly string[];
  readonly table: StatusTable;
  readonly scheduler: Scheduler;
  readonly events: RunEvents;
  readonly rows: (Row[] | undefined)[];
  readonly bind: BindContext;
  readonly errors: TributaryError[] = [];
  readonly t0: number;
  /** A run keeps the sources it was validated against, even if one is unregistered meanwhile. */
  readonly bound = new Map<string, { source: SourceExecutor; readonly lane: Lane; readonly guards: SourceGuards }>();
  streaming: RunStreaming | undefined;
  stopReason: TributaryError | undefined;
  mergeError: TributaryError | undefined;
  readonly #spawned = new Set<string>();
  readonly #runners = new Map<string, SourceRunner>();
  /** The query's deadline (the run's, else the plan's or executor's), shared out over the plan. */
  readonly deadline: QueryDeadline | undefined;
  readonly #deadline: RunDeadline | undefined;
  /** The fragments the deadline stopped, until the machine has counted them per source. */
  #deadlineSettled: SettleEvent[] | undefined;
  merged: { rows: Row[]; columns: string[] } = { rows: [], columns: [] };

  constructor(
    readonly prepared: PreparedPlan,
    readonly rt: RunRuntime,
    readonly params: Readonly<Record<string, unknown>>,
    readonly principal: Principal | undefined,
    deadlineMs?: number,
  ) {
    this.queryId = prepared.id;
    this.runId = rt.durable?.runId ?? randomUUID();
    this.errorPolicy = prepared.plan.errorPolicy;
    this.schedule = prepared.plan.schedule;
    this.sources = prepared.sources;
    this.table = new StatusTable(prepared);
    this.scheduler = new Scheduler(prepared, this.table);
    this.events = new RunEvents(this.table, rt.executorEvents);
    this.rows = new Array<Row[] | undefined>(prepared.fragments.length);
    // The port answers for bound references itself (`rowsOf`, `params`): no closure per run.
    this.bind = this;
    this.t0 = rt.clock.now();
    for (const name of prepared.sources) this.bound.set(name, { source: rt.sources.get(name)!, lane: rt.sourceLane(name), guards: rt.guardsOf(name) });
    const recorder = rt.recorder;
    if (recorder) {
      recorder.at = () => this.at();
      for (const [name, b] of this.bound) b.source = recorder.wrap(name, b.source);
    }
    const deadline = deadlineMs ?? prepared.deadlineMs;
    if (deadline !== undefined) {
      this.#deadline = new RunDeadline(deadline, prepared, rt, (name) => this.bound.get(name)!.source);
      this.deadline = this.#deadline.budget;
    }
  }

  /** Starts the deadline's clock: `onPass` runs when it passes, unless `disarmDeadline` came first. */
  armDeadline(onPass: () => void): void {
    this.#deadline?.arm(this.at(), onPass);
  }

  disarmDeadline(): void {
    this.#deadline?.disarm();
  }

  /** The query's deadline passed: what was unfinished is stopped (`RunDeadline.stopAll`); true when the query must fail. */
  passDeadline(): boolean {
    if (!this.#deadline) return false;
    const settled: SettleEvent[] = [];
    const fail = this.#deadline.stopAll(this, settled);
    this.#deadlineSettled = settled;
    return fail;
  }

  takeDeadlineSettled(): readonly SettleEvent[] {
    const settled = this.#deadlineSettled;
    this.#deadlineSettled = undefined;
    return settled ?? [];
  }

  /** The runner behind the source actor `name`, once it has been spawned. */
  runnerOf(name: string): SourceRunner | undefined {
    return this.#runners.get(name);
  }

  /**
   * The reader of `run.rows()` left before the end: every fragment still running or waiting
   * for a slot is stopped now and settles cut short, and those not started yet will not call
   * their sources (see `RunStreaming.gone`), so the run ends with what it has.
   */
  consumerLeft(): void {
    for (const runner of this.#runners.values()) runner.leave();
  }

  /**
   * A satisfied limit no longer wants streamed fragment `id`'s rows: whatever it still runs
   * or waits for is stopped, and it settles cut short (`limit-stopped`).
   */
  limitReached(id: string): void {
    const i = this.prepared.indexOf.get(id);
    if (i === undefined) return;
    this.#runners.get(this.prepared.fragments[i]!.fragment.source)?.leave(i);
  }

  /** The run ended: every source call still running is aborted (idempotent). */
  stopRunners(): void {
    for (const runner of this.#runners.values()) runner.stop();
  }

  /** An upstream fragment's rows, for `{ $from }` references. */
  rowsOf(fragmentId: string): readonly Row[] {
    return this.rows[this.prepared.indexOf.get(fragmentId)!] ?? [];
  }

  /** Milliseconds since the query started, to the microsecond. */
  at(): number {
    return Math.round((this.rt.clock.now() - this.t0) * 1000) / 1000;
  }

  levelStarted(level: number): void {
    this.events.levelsStarted(level, { queryId: this.queryId, runId: this.runId, at: this.at() });
  }

  takeReady(level: number): Ready | undefined {
    return takeReady(this, level);
  }

  needsActor(source: string): boolean {
    if (this.#spawned.has(source)) return false;
    this.#spawned.add(source);
    return true;
  }

  /** A source actor's fragment settled: the table learns it, then the listeners (`recordSettlement`). */
  record(event: SettleEvent): void {
    recordSettlement(this, event);
  }

  settled(event: SettleEvent): void {
    countSettled(this, event);
  }

  due(event: SettleEvent): boolean {
    const i = this.prepared.indexOf.get(event.fragmentId);
    if (i === undefined) return false;
    return this.table.awaitsSettle(i, event.type === 'fragment.succeeded' ? 'succeeded' : event.type === 'fragment.failed' ? 'failed' : 'dropped');
  }

  skipDownstream(event: { fragmentId: string }): void {
    skipBelow(this, event.fragmentId);
  }

  stopped(): readonly LateSettle[] {
    return finishStopped(this);
  }

  counts(): FragmentCounts {
    return this.table.counts();
  }

  lowestOpenLevel(): number {
    return this.table.levels.lowestOpen();
  }

  mergeStarted(): void {
    if (this.events.wanted) this.events.emit({ type: 'merge.started', queryId: this.queryId, runId: this.runId, at: this.at() });
  }

  merge(): number | Promise<number> {
    return mergeRun(this);
  }

  sourceRunner(name: string, settle: (event: SettleEvent) => void): SourceRunner {
    const runner = createSourceRunner(this, name, settle);
    this.#runners.set(name, runner);
    return runner;
  }

  /**
   * What a serializer shows of the port should one reach it (the actor's `input` is plain data
   * and the port hangs from the actor system under a symbol, which JSON skips): the query's
   * identity, never the rows or the machinery behind it.
   */
  toJSON(): { queryId: string; fragments: number; sources: readonly string[] } {
    return { queryId: this.queryId, fragments: this.prepared.fragments.length, sources: this.sources };
  }

  /** Why calls are being aborted. */
  abortReason(): TributaryError {
    if (this.stopReason) return this.stopReason;
    if (this.streaming?.gone) return new TributaryError('CANCELLED', 'the reader of run.rows() left: these rows are no longer wanted');
    return new TributaryError('CANCELLED', 'the query was stopped');
  }
}
