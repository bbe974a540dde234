import { FragmentError, TributaryError } from '../errors.js';
import { QueryDeadline, latencyOf } from '../execution/deadline.js';
import type { TimerHandle } from '../execution/clock.js';
import type { SourceExecutor } from '../sources/source.js';
import type { SettleEvent } from './port.js';
import type { PreparedFragment, PreparedPlan } from './prepare.js';
import type { RunPort } from './run-port.js';
import type { StatusTable } from './status-table.js';
import type { RunRuntime } from './types.js';

/**
 * One run's query deadline: the budget arithmetic shared out over the plan (`budget`, read
 * by every fragment), the timer that fires when it passes, and the settle event of a
 * fragment that was still queued or running then. @internal
 */
export class RunDeadline {
  readonly budget: QueryDeadline;
  #timer: TimerHandle | undefined;

  constructor(
    deadlineMs: number,
    prepared: PreparedPlan,
    readonly rt: RunRuntime,
    /** The source a run bound for a name (a recorder may have wrapped it). */
    boundSource: (name: string) => SourceExecutor,
  ) {
    this.budget = new QueryDeadline(deadlineMs, prepared, (i) => {
      const name = prepared.fragments[i]!.source;
      // The registered source, not a recorder's wrapper of it: latencies outlive the run.
      return latencyOf(rt.sources.get(name) ?? boundSource(name)).estimate();
    });
  }

  get deadlineMs(): number {
    return this.budget.deadlineMs;
  }

  /** Starts the clock at `nowMs` since the query started: `onPass` runs when it passes, unless `disarm` came first. */
  arm(nowMs: number, onPass: () => void): void {
    this.#timer = this.rt.clock.setTimeout(() => {
      this.#timer = undefined;
      onPass();
    }, Math.max(0, this.deadlineMs - nowMs));
  }

  disarm(): void {
    if (this.#timer === undefined) return;
    this.rt.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The deadline passed: every fragment of `port`'s run still queued, running or ready to be
   * sent is stopped (its calls aborted). An optional one is dropped, a required one fails
   * with TIMEOUT; either way what depends on it is skipped. Returns true when the query must
   * fail (a required fragment under fail-fast); otherwise every fragment is finished and the
   * query goes on to its merge. Each settle event goes into `settled`. O(fragments), once per run.
   */
  stopAll(port: RunPort, settled: SettleEvent[]): boolean {
    let fail = false;
    for (const f of port.prepared.fragments) {
      const i = f.index;
      const state = port.table.state(i);
      if (state !== 'queued' && state !== 'running' && !(state === 'pending' && port.scheduler.isReady(i))) continue;
      port.runnerOf(f.source)?.drop(i);
      const event = this.stopped(f, port.table, port, port.at());
      if (event.type === 'fragment.failed' && port.errorPolicy === 'fail-fast') {
        port.stopReason ??= new TributaryError('TIMEOUT', `the query passed its ${this.deadlineMs} ms deadline`, { cause: event.error });
        fail = true;
      }
      port.record(event);
      settled.push(event);
      // Counted as finished either way (its event went out): the progress and the snapshot say so.
      port.table.settle(i);
      if (!fail) port.skipDownstream({ fragmentId: f.id });
    }
    return fail;
  }

  /**
   * How fragment `f`, still queued or running at the deadline (`at`), settles: dropped when
   * optional, failed with TIMEOUT when required.
   */
  stopped(f: PreparedFragment, table: StatusTable, run: { queryId: string; runId: string }, at: number): SettleEvent & { type: 'fragment.dropped' | 'fragment.failed' } {
    const i = f.index;
    const startedAt = table.startedAt(i);
    const attempts = table.attempts(i);
    const durationMs = startedAt === undefined ? 0 : Math.round((at - startedAt) * 1000) / 1000;
    // Its streamed rows (and calls started so far) are whatever the table has seen.
    const base = { queryId: run.queryId, runId: run.runId, at, fragmentId: f.id, source: f.source, level: f.level, attempts, durationMs, rowCount: table.rowCount(i) };
    if (f.optional) return { type: 'fragment.dropped', ...base, startedAt, reason: 'deadline' };
    const counted = { calls: table.calls(i) };
    const error = new FragmentError('TIMEOUT', `fragment "${f.id}" had not finished at the query's ${this.deadlineMs} ms deadline`, {
      fragmentId: f.id,
      source: f.source,
      attempt: attempts,
      retryable: false,
    });
    return { type: 'fragment.failed', ...base, ...counted, startedAt: startedAt ?? at, error, reason: 'deadline' };
  }
}
