import { createLimitCounter, DEFAULT_FRAGMENT_MAX_BYTES, smaller, type LimitCounter, type Limits } from '../data/limits.js';
import type { ExecuteContext } from './source.js';

/** What a connector counted of one call's bytes, read by whoever made the call once rows arrive. @internal */
export interface CountedBytes {
  readonly bytes: number;
}

/**
 * A call context's hook that `callLimits` calls with the call's counter: the connector counts
 * the call's rows (and, under a byte bound, their bytes: `httpSource` its bodies as read)
 * against `ctx.limits` as it fetches, so the executor reads the count instead of estimating
 * the rows again (see SourceCall). A symbol, not part of `ExecuteContext`: a context without
 * it (a test's) is fine.
 * @internal
 */
export const LIMITS_COUNTED: unique symbol = Symbol('tributary.limitsCounted');

/** Tells `ctx` (when it listens) that `counted` holds its call's bytes. @internal */
export function reportCounted(ctx: object, counted: CountedBytes): void {
  (ctx as { [LIMITS_COUNTED]?: (counted: CountedBytes) => void })[LIMITS_COUNTED]?.(counted);
}

/**
 * The limit counter of one `execute` call: the tighter of the call's limits (`ctx.limits`,
 * which the executor always gives: its run's bounds, the source's own and the default
 * already applied) and the source's own, with errors naming the call's fragment and the
 * source. A call made without an executor (`ctx.limits` absent) and no byte bound of the
 * source's own is bounded by the default (`DEFAULT_FRAGMENT_MAX_BYTES`); `Infinity` lifts it.
 */
export function callLimits(ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>, own: Limits, source?: string): LimitCounter {
  const call = ctx.limits;
  const maxBytes = call === undefined ? (own.maxBytes ?? DEFAULT_FRAGMENT_MAX_BYTES) : smaller(call.maxBytes, own.maxBytes);
  const counter = createLimitCounter({ maxRows: smaller(call?.maxRows, own.maxRows), maxBytes }, { fragmentId: ctx.fragmentId, source });
  reportCounted(ctx, counter);
  return counter;
}
