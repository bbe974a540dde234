import { FragmentTask } from '../execution/fragment.js';
import { fragmentLimits } from '../data/limits.js';
import { fitsLimits } from '../execution/fragment-limits.js';
import type { FragmentStream, RunCache, SourceEnv } from '../execution/env.js';
import type { Clock } from '../execution/clock.js';
import type { SchedulerLike } from 'rxjs';
import type { SettleEvent, SourceRunner } from './port.js';
import type { Row } from '../data/row.js';
import type { TributaryError } from '../errors.js';
import type { BindContext } from '../execution/bind.js';
import type { SourceGuards } from '../execution/env.js';
import type { Lane } from '../execution/lanes.js';
import { latencyOf, type QueryDeadline, type SourceLatency } from '../execution/deadline.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { RunEvents } from './events.js';
import type { PreparedPlan } from './prepare.js';
import type { StatusTable } from './status-table.js';
import type { RunStreaming } from './streaming.js';
import type { RunRuntime } from './types.js';
import type { RequestTally } from '../sources/request-tally.js';

/** What a source runner needs of its run (the run's port provides it). */
export interface RunnerHost {
  readonly queryId: string;
  readonly runId: string;
  readonly prepared: PreparedPlan;
  readonly rt: RunRuntime;
  readonly bound: ReadonlyMap<string, { source: SourceExecutor; lane: Lane; guards: SourceGuards }>;
  readonly events: RunEvents;
  readonly table: StatusTable;
  readonly rows: (Row[] | undefined)[];
  readonly bind: BindContext;
  readonly principal: Principal | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly streaming: RunStreaming | undefined;
  readonly deadline: QueryDeadline | undefined;
  at(): number;
  abortReason(): TributaryError;
  record(event: SettleEvent): void;
}

/**
 * The runner behind one source actor: the run's pipeline environment for that source
 * (built once, shared by its fragments) and the fragments still running, so that stopping
 * the actor aborts exactly those. Each settle is recorded in the run, then sent to the
 * query actor. @internal
 */
export function createSourceRunner(port: RunnerHost, name: string, sendBack: (event: SettleEvent) => void): SourceRunner {
  return new SourceRun(port, name, sendBack);
}

/**
 * One class is both the runner and its fragments' `SourceEnv`: every run makes one per
 * source, so its callbacks are prototype methods rather than a dozen closures per run.
 */
class SourceRun implements SourceRunner, SourceEnv {
  readonly queryId: string;
  readonly runId: string;
  readonly source: SourceExecutor;
  readonly lanes: { readonly global: Lane; readonly source: Lane };
  readonly guards: SourceGuards;
  readonly clock: Clock;
  readonly scheduler: SchedulerLike;
  readonly events: RunEvents;
  readonly principal: Principal | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly limits: { maxRows?: number; maxBytes?: number };
  readonly fits: (rows: Row[]) => boolean;
  readonly cache: RunCache | undefined;
  readonly random: (() => number) | undefined;
  readonly bind: BindContext;
  readonly deadline?: QueryDeadline;
  readonly latency: SourceLatency;
  readonly #port: RunnerHost;
  readonly #sendBack: (event: SettleEvent) => void;
  readonly #running = new Map<number, FragmentTask>();
  /** Handed to each fragment task: bound once per runner, not once per fragment. */
  readonly #settle: (event: SettleEvent) => void;
  #stopped = false;
  /** Each fragment's request tally, made when its first call asks (see request-tally.ts). */
  #tallies: Map<number, RequestTally> | undefined;

  constructor(port: RunnerHost, readonly sourceName: string, sendBack: (event: SettleEvent) => void) {
    const rt = port.rt;
    const bound = port.bound.get(sourceName)!;
    this.#port = port;
    this.#sendBack = sendBack;
    // Assigned here, not as arrow class fields: a build that keeps names (tsx) defines a name on each of those, per runner.
    this.fits = (rows) => fitsLimits(rows, this.limits);
    this.#settle = (event) => this.#settled(event);
    this.queryId = port.queryId;
    this.runId = port.runId;
    this.source = bound.source;
    this.lanes = { global: rt.globalLane, source: bound.lane };
    this.guards = bound.guards;
    this.clock = rt.clock;
    this.scheduler = rt.scheduler;
    this.events = port.events;
    this.principal = port.principal;
    this.params = port.params;
    // The run's bounds tightened by the source's own, with the default byte bound where nobody set one.
    this.limits = fragmentLimits(port.prepared.rowLimits, bound.source.limits, port.prepared.defaultMaxBytes);
    this.cache = rt.cache;
    this.random = rt.random;
    this.bind = port.bind;
    if (port.deadline) this.deadline = port.deadline;
    // The registered source, not a recorder's wrapper of it: latencies outlive the run.
    this.latency = latencyOf(rt.sources.get(sourceName) ?? bound.source);
  }

  requestTally(i: number): RequestTally {
    const tallies = (this.#tallies ??= new Map());
    let tally = tallies.get(i);
    if (!tally) tallies.set(i, (tally = { requests: 0 }));
    return tally;
  }

  at(): number {
    return this.#port.at();
  }

  store(i: number, rows: Row[]): void {
    this.#port.rows[i] = rows;
  }

  account(id: string, rows: readonly Row[]): void {
    this.#port.rt.ticket?.account(id, rows);
  }

  streamOf(i: number): FragmentStream | undefined {
    return this.#port.streaming?.streamOf(i);
  }

  unwanted(i: number): boolean {
    const streaming = this.#port.streaming;
    return streaming !== undefined && (streaming.gone || streaming.unneeded(this.#port.prepared.fragments[i]!.id));
  }

  abortReason(): TributaryError {
    return this.#port.abortReason();
  }

  started(i: number, attempt: number, at: number): void {
    this.#port.table.started(i, attempt, at);
    this.#port.events.progressed();
  }

  joined(i: number): void {
    this.#port.table.joined(i);
    this.#port.events.progressed();
  }

  retried(): void {
    this.#port.events.retried();
  }

  budgeted(i: number, ms: number): void {
    this.#port.table.budgeted(i, ms);
  }

  streamed(i: number, rows: number): void {
    this.#port.table.streamed(i, rows);
  }

  run(fragments: readonly number[]): void {
    for (const i of fragments) {
      if (this.#stopped) return;
      const task = new FragmentTask(this, this.#port.prepared.fragments[i]!, this.#settle);
      this.#running.set(i, task);
      task.start();
    }
  }

  drop(i: number): void {
    const task = this.#running.get(i);
    if (!task) return;
    this.#running.delete(i);
    task.stop();
  }

  leave(i?: number): void {
    if (i !== undefined) this.#running.get(i)?.leave();
    else for (const task of [...this.#running.values()]) task.leave();
  }

  stop(): void {
    this.#stopped = true;
    for (const task of this.#running.values()) task.stop();
    this.#running.clear();
  }

  #settled(event: SettleEvent): void {
    this.#running.delete(this.#port.prepared.indexOf.get(event.fragmentId)!);
    if (this.#stopped) return;
    this.#port.record(event);
    this.#sendBack(event);
  }
}
