import { createLimitCounter, DEFAULT_FRAGMENT_MAX_BYTES, smaller, type LimitCounter, type Limits } from '../data/limits.js';
import type { ExecuteContext } from './source.js';

/**
 * A call context's hook that `callLimits` calls: the connector counts the call's rows against
 * `ctx.limits` as it fetches, so the executor does not estimate them again (see SourceCall).
 * A symbol, not part of `ExecuteContext`: a context without it (a worker's, a test's) is fine.
 * @internal
 */
export const LIMITS_COUNTED: unique symbol = Symbol('tributary.limitsCounted');

/**
 * The limit counter of one `execute` call: the tighter of the call's limits (`ctx.limits`,
 * which the executor always gives: its run's bounds, the source's own and the default
 * already applied) and the source's own, with errors naming the call's fragment and the
 * source. A call made without an executor (`ctx.limits` absent) and no byte bound of the
 * source's own is bounded by the default (`DEFAULT_FRAGMENT_MAX_BYTES`); `Infinity` lifts it.
 */
export function callLimits(ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>, own: Limits, source?: string): LimitCounter {
  (ctx as { [LIMITS_COUNTED]?: () => void })[LIMITS_COUNTED]?.();
  const call = ctx.limits;
  const maxBytes = call === undefined ? (own.maxBytes ?? DEFAULT_FRAGMENT_MAX_BYTES) : smaller(call.maxBytes, own.maxBytes);
  return createLimitCounter({ maxRows: smaller(call?.maxRows, own.maxRows), maxBytes }, { fragmentId: ctx.fragmentId, source });
}
