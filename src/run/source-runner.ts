import { FragmentTask } from '../execution/fragment.js';
import type { SourceEnv } from '../execution/env.js';
import type { SettleEvent, SourceRunner } from './port.js';
import type { Row } from '../data/row.js';
import type { TributaryError } from '../errors.js';
import type { BindContext } from '../execution/bind.js';
import type { SourceGuards } from '../execution/env.js';
import type { Lane } from '../execution/lanes.js';
import type { FragmentFailedEvent, FragmentSucceededEvent } from '../progress/events.js';
import type { Principal, SourceExecutor } from '../sources/source.js';
import type { RunEvents } from './events.js';
import type { PreparedPlan } from './prepare.js';
import type { StatusTable } from './status-table.js';
import type { RunStreaming } from './streaming.js';
import type { RunRuntime } from './types.js';

/** What a source runner needs of its run (the run's port provides it). */
export interface RunnerHost {
  readonly queryId: string;
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
  at(): number;
  abortReason(): TributaryError;
  record(event: FragmentSucceededEvent | FragmentFailedEvent): void;
}

/**
 * The runner behind one source actor: the run's pipeline environment for that source
 * (built once, shared by its fragments) and the fragments still running, so that stopping
 * the actor aborts exactly those. Each settle is recorded in the run, then sent to the
 * query actor. @internal
 */
export function createSourceRunner(port: RunnerHost, name: string, sendBack: (event: SettleEvent) => void): SourceRunner {
  const rt = port.rt;
  const bound = port.bound.get(name)!;
  const env: SourceEnv = {
    queryId: port.queryId,
    sourceName: name,
    source: bound.source,
    lanes: { global: rt.globalLane, source: bound.lane },
    guards: bound.guards,
    clock: rt.clock,
    scheduler: rt.scheduler,
    at: () => port.at(),
    events: port.events,
    principal: port.principal,
    params: port.params,
    limits: port.prepared.rowLimits,
    cache: rt.cache,
    random: rt.random,
    bind: port.bind,
    store: (i, rows) => {
      port.rows[i] = rows;
    },
    account: (id, rows) => rt.ticket?.account(id, rows),
    streamOf: (i) => port.streaming?.streamOf(i),
    abortReason: () => port.abortReason(),
    started: (i, attempt, at) => {
      port.table.started(i, attempt, at);
      port.events.progressed();
    },
    retried: () => port.events.retried(),
  };
  const running = new Map<number, FragmentTask>();
  let stopped = false;
  const settle = (event: SettleEvent): void => {
    running.delete(port.prepared.indexOf.get(event.fragmentId)!);
    if (stopped) return;
    port.record(event);
    sendBack(event);
  };
  return {
    run(fragments) {
      for (const i of fragments) {
        if (stopped) return;
        const task = new FragmentTask(env, port.prepared.fragments[i]!, settle);
        running.set(i, task);
        task.start();
      }
    },
    stop() {
      stopped = true;
      for (const task of running.values()) task.stop();
      running.clear();
    },
  };
}
