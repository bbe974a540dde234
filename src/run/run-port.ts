import { TributaryError } from '../errors.js';
import type { QueryDeadline } from '../execution/deadline.js';
import type { Row } from '../data/row.js';
import type { BindContext } from '../execution/bind.js';
import { evaluateMerge } from '../merge/index.js';
import type { FragmentSucceededEvent } from '../progress/events.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { SourceGuards } from '../execution/env.js';
import type { Lane } from '../execution/lanes.js';
import { RunDeadline } from './run-deadline.js';
import { RunEvents } from './events.js';
import type { QueryPort, Ready, SettleEvent, SourceRunner } from './port.js';
import type { PreparedPlan } from './prepare.js';
import { Scheduler, type Dispatch } from './scheduler.js';
import { createSourceRunner } from './source-runner.js';
import { StatusTable, type FragmentCounts } from './status-table.js';
import type { RunStreaming } from './streaming.js';
import type { RunRuntime } from './types.js';

/**
 * One run's state behind its query actor: the status table, the scheduler, the rows, the
 * events and the merge. The machine reaches it through `QueryPort`; the source actors
 * through their runners. @internal
 */
export class RunPort implements QueryPort, BindContext {
  readonly queryId: string;
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
  merged: { rows: Row[]; columns: string[] } = { rows: [], columns: [] };

  constructor(
    readonly prepared: PreparedPlan,
    readonly rt: RunRuntime,
    readonly params: Readonly<Record<string, unknown>>,
    readonly principal: Principal | undefined,
    deadlineMs?: number,
  ) {
    this.queryId = prepared.id;
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

  /**
   * The query's deadline passed: every fragment still queued, running or ready to be sent is
   * stopped (its calls aborted). An optional one is dropped, a required one fails with
   * TIMEOUT; either way what depends on it is skipped. Returns true when the query must fail
   * (a required fragment under fail-fast); otherwise every fragment is finished and the
   * query goes on to its merge. O(fragments), once per run.
   */
  passDeadline(): boolean {
    const deadline = this.#deadline;
    if (!deadline) return false;
    let fail = false;
    for (const f of this.prepared.fragments) {
      const i = f.index;
      const state = this.table.state(i);
      if (state !== 'queued' && state !== 'running' && !(state === 'pending' && this.scheduler.isReady(i))) continue;
      this.#runners.get(f.source)?.drop(i);
      const event = deadline.stopped(f, this.table, this.queryId, this.at());
      if (event.type === 'fragment.failed' && this.errorPolicy === 'fail-fast') {
        this.stopReason ??= new TributaryError('TIMEOUT', `the query passed its ${deadline.deadlineMs} ms deadline`, { cause: event.error });
        fail = true;
      }
      this.record(event);
      if (fail) continue;
      this.table.settle(i);
      this.skipDownstream({ fragmentId: f.id });
    }
    return fail;
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
    this.events.levelStarted(level);
    if (this.events.wanted) this.events.emit({ type: 'level.started', queryId: this.queryId, at: this.at(), level });
  }

  takeReady(level: number): Ready | undefined {
    const send = this.scheduler.take(this.schedule, level);
    if (!send) return undefined;
    // A resumed run: fragments whose rows the run store holds settle here, like cache hits.
    const restored = this.rt.durable?.restored;
    let cached = restored ? this.#restore(send, restored) : undefined;
    const cache = this.rt.cache;
    if (!cache || this.streaming) return { send, cached };
    // A fragment the in-process cache answers needs no source actor and no call: it settles
    // here, and a plan served whole from the cache spawns no source actor at all.
    for (let s = 0; s < send.length; s++) {
      const list = send[s];
      if (!list) continue;
      let kept: number[] | undefined;
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        const rows = cache.peekStatic(i);
        if (!rows) {
          kept?.push(i);
          continue;
        }
        kept ??= list.slice(0, k);
        (cached ??= []).push(this.#servedFromCache(i, rows));
      }
      if (kept) send[s] = kept.length > 0 ? kept : undefined;
    }
    return { send, cached };
  }

  #restore(send: Dispatch, restored: ReadonlyMap<string, Row[]>): FragmentSucceededEvent[] | undefined {
    let served: FragmentSucceededEvent[] | undefined;
    for (let s = 0; s < send.length; s++) {
      const list = send[s];
      if (!list) continue;
      const kept = list.filter((i) => {
        const rows = restored.get(this.prepared.fragments[i]!.id);
        if (rows) (served ??= []).push(this.#servedFromCache(i, rows));
        return !rows;
      });
      send[s] = kept.length > 0 ? kept : undefined;
    }
    return served;
  }

  needsActor(source: string): boolean {
    if (this.#spawned.has(source)) return false;
    this.#spawned.add(source);
    return true;
  }

  #servedFromCache(i: number, rows: Row[]): FragmentSucceededEvent {
    const f = this.prepared.fragments[i]!;
    const at = this.at();
    const base = { queryId: this.queryId, at, fragmentId: f.id, source: f.source, level: f.level };
    if (this.events.wanted) {
      this.events.emit({ type: 'fragment.queued', ...base });
      this.events.emit({ type: 'fragment.cached', ...base, rowCount: rows.length });
    }
    this.rows[i] = rows;
    const event: FragmentSucceededEvent = { type: 'fragment.succeeded', ...base, rowCount: rows.length, attempts: 0, calls: 0, cached: true, startedAt: at, durationMs: 0 };
    this.record(event);
    return event;
  }

  /** A source actor's fragment settled: the table learns it, then the listeners. */
  record(event: SettleEvent): void {
    const i = this.prepared.indexOf.get(event.fragmentId)!;
    if (event.type === 'fragment.succeeded') {
      this.table.succeeded(i, event);
      if (event.limited) this.table.setReason(i, event.limited === 'stopped' ? 'limit-stopped' : 'limit-satisfied');
    } else if (event.type === 'fragment.dropped') {
      this.table.dropped(i, event);
    } else {
      if (event.reason) this.table.setReason(i, event.reason);
      this.table.failed(i, event);
      this.errors.push(event.error);
      if (this.errorPolicy === 'fail-fast') {
        this.stopReason ??= new TributaryError('CANCELLED', `stopped because fragment "${event.fragmentId}" failed (fail-fast)`, { cause: event.error });
      }
    }
    this.rt.durable?.settled(event, this.rows[i]);
    this.streaming?.settled(event.fragmentId);
    if (this.events.wanted) this.events.emit(event);
  }

  settled(event: SettleEvent): void {
    const i = this.prepared.indexOf.get(event.fragmentId)!;
    this.table.settle(i);
    if (event.type === 'fragment.succeeded') this.scheduler.release(i);
    this.events.progressed();
  }

  skipDownstream(event: { fragmentId: string }): void {
    const i = this.prepared.indexOf.get(event.fragmentId)!;
    for (const d of this.scheduler.skipDownstream(i)) {
      const f = this.prepared.fragments[d]!;
      this.streaming?.settled(f.id);
      if (this.events.wanted) {
        this.events.emit({ type: 'fragment.skipped', queryId: this.queryId, at: this.at(), fragmentId: f.id, source: f.source, level: f.level, because: event.fragmentId });
      }
    }
    this.events.progressed();
  }

  counts(): FragmentCounts {
    return this.table.counts();
  }

  lowestOpenLevel(): number {
    return this.table.lowestOpenLevel();
  }

  mergeStarted(): void {
    if (this.events.wanted) this.events.emit({ type: 'merge.started', queryId: this.queryId, at: this.at() });
  }

  merge(): number {
    if (this.streaming) {
      // The rows went to the consumer of run.rows() as they came; nothing is left to merge.
      this.merged = { rows: [], columns: this.streaming.rows.columns };
      return this.streaming.rows.count;
    }
    const inputs = new Map<string, Row[]>();
    for (const f of this.prepared.fragments) inputs.set(f.id, this.rows[f.index] ?? []);
    try {
      this.merged = evaluateMerge(this.prepared.plan.mergeTree, inputs, { params: this.params });
    } catch (error) {
      this.mergeError = error instanceof TributaryError ? error : new TributaryError('MERGE_FAILED', `merge failed: ${(error as Error).message}`, { cause: error });
      throw this.mergeError;
    }
    return this.merged.rows.length;
  }

  sourceRunner(name: string, settle: (event: SettleEvent) => void): SourceRunner {
    const runner = createSourceRunner(this, name, settle);
    this.#runners.set(name, runner);
    return runner;
  }

  /**
   * What an inspector shows of the run (the query actor's `input` travels with its init
   * event): the query's identity, never the rows or the machinery behind it.
   */
  toJSON(): { queryId: string; fragments: number; sources: readonly string[] } {
    return { queryId: this.queryId, fragments: this.prepared.fragments.length, sources: this.sources };
  }

  /** Why calls are being aborted. */
  abortReason(): TributaryError {
    return this.stopReason ?? new TributaryError('CANCELLED', 'the query was stopped');
  }
}
