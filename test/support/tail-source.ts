import { z } from 'zod';
import type { VirtualClock } from '../../src/execution/clock.js';
import type { SourceExecutor } from '../../src/index.js';

/** One call the tail source received. */
export interface SeenAttempt {
  n: number;
  slow: boolean;
  signal: AbortSignal;
  answered: boolean;
}

/**
 * A source on the virtual clock where every 20th attempt (over all calls) takes 300 ms and
 * the rest 10 ms; a call stops when its signal fires, as a connector that cancels does.
 */
export function tailSource(clock: VirtualClock, extra: Partial<SourceExecutor> = {}): SourceExecutor & { attempts: SeenAttempt[] } {
  const attempts: SeenAttempt[] = [];
  return {
    kind: 'tail',
    querySchema: z.object({ n: z.number() }),
    attempts,
    isReadOnly: () => true,
    execute: (query: { n: number }, ctx) => {
      const seen: SeenAttempt = { n: query.n, slow: (attempts.length + 1) % 20 === 0, signal: ctx.signal, answered: false };
      attempts.push(seen);
      return new Promise((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          seen.answered = true;
          resolve([{ n: query.n }]);
        }, seen.slow ? 300 : 10);
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(ctx.signal.reason);
        }, { once: true });
      });
    },
    ...extra,
  };
}
