import type { VirtualClock } from '../../src/execution/clock.js';
import type { Row, SourceExecutor } from '../../src/index.js';

/**
 * `source` (a real connector, e.g. `memorySource`) whose every call answers `delayMs(query)`
 * ms later on the virtual clock, or fails with the signal's reason when it fires first.
 */
export function delayedSource<Q>(source: SourceExecutor<Q>, clock: VirtualClock, delayMs: (query: Q) => number): SourceExecutor<Q> {
  return {
    ...source,
    execute: (query, ctx) =>
      new Promise<Row[]>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          Promise.resolve(source.execute(query, ctx)).then((rows) => (Array.isArray(rows) ? resolve(rows) : reject(new Error('expected rows at once'))), reject);
        }, delayMs(query));
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(ctx.signal.reason as Error);
        }, { once: true });
      }),
  };
}
