import { createLimitCounter, smaller, type LimitCounter, type Limits } from '../data/limits.js';
import type { ExecuteContext } from './source.js';

/**
 * The limit counter of one `execute` call: the tighter of the plan's limits (`ctx.limits`)
 * and the source's own, with errors naming the call's fragment and the source.
 */
export function callLimits(ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>, own: Limits, source?: string): LimitCounter {
  const plan = ctx.limits;
  return createLimitCounter(
    { maxRows: smaller(plan?.maxRows, own.maxRows), maxBytes: smaller(plan?.maxBytes, own.maxBytes) },
    { fragmentId: ctx.fragmentId, source },
  );
}
