import { FragmentError } from '../errors.js';
import { QueryDeadline, latencyOf } from '../execution/deadline.js';
import type { TimerHandle } from '../execution/clock.js';
import type { SourceExecutor } from '../sources/source.js';
import type { SettleEvent } from './port.js';
import type { PreparedFragment, PreparedPlan } from './prepare.js';
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
   * How fragment `f`, still queued or running at the deadline (`at`), settles: dropped when
   * optional, failed with TIMEOUT when required.
   */
  stopped(f: PreparedFragment, table: StatusTable, queryId: string, at: number): SettleEvent & { type: 'fragment.dropped' | 'fragment.failed' } {
    const i = f.index;
    const startedAt = table.startedAt(i);
    const attempts = table.attempts(i);
    const durationMs = startedAt === undefined ? 0 : Math.round((at - startedAt) * 1000) / 1000;
    const base = { queryId, at, fragmentId: f.id, source: f.source, level: f.level, attempts, durationMs };
    if (f.optional) return { type: 'fragment.dropped', ...base, startedAt, reason: 'deadline' };
    const error = new FragmentError('TIMEOUT', `fragment "${f.id}" had not finished at the query's ${this.deadlineMs} ms deadline`, {
      fragmentId: f.id,
      source: f.source,
      attempt: attempts,
      retryable: false,
    });
    return { type: 'fragment.failed', ...base, startedAt: startedAt ?? at, error, reason: 'deadline' };
  }
}
