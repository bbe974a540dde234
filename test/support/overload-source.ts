import { z } from 'zod';
import type { Clock } from '../../src/execution/clock.js';
import type { SourceExecutor } from '../../src/index.js';

/** What the simulated server saw. */
export interface OverloadFigures {
  /** Calls received, rejected ones included. */
  calls: number;
  /** Calls turned away (more than `rejectAbove` in flight). */
  rejected: number;
  /** Most calls in flight at once. */
  peak: number;
}

/**
 * A simulated server on a clock: a call takes `baseMs` while at most `knee` calls are in
 * flight; past that each call's latency grows with the square of the load (contention:
 * throughput falls as it is overloaded), and past `rejectAbove` it rejects at once with a
 * retryable overload error (like "too many connections" or a 503). A call's latency is set
 * by the load when it arrives. Aborted calls still run to the end, as on a server that
 * cannot cancel.
 */
export function overloadedSource(clock: Clock, options: { knee?: number; rejectAbove?: number; baseMs?: number; maxConcurrency?: number } = {}): SourceExecutor & { figures: OverloadFigures } {
  const knee = options.knee ?? 8;
  const rejectAbove = options.rejectAbove ?? 24;
  const baseMs = options.baseMs ?? 10;
  const figures: OverloadFigures = { calls: 0, rejected: 0, peak: 0 };
  let inflight = 0;
  return {
    kind: 'overloaded',
    querySchema: z.object({ n: z.number() }),
    figures,
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    isReadOnly: () => true,
    execute: (query: { n: number }) => {
      figures.calls++;
      if (inflight >= rejectAbove) {
        figures.rejected++;
        return Promise.reject(Object.assign(new Error('overloaded: too many calls in flight'), { retryable: true }));
      }
      inflight++;
      figures.peak = Math.max(figures.peak, inflight);
      const latency = inflight <= knee ? baseMs : baseMs * (inflight / knee) ** 2;
      return new Promise((resolve) => {
        clock.setTimeout(() => {
          inflight--;
          resolve([{ n: query.n }]);
        }, latency);
      });
    },
  };
}
