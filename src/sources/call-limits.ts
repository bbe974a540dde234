import { createLimitCounter, tighter, type LimitCounter, type Limits } from '../data/limits.js';
import type { ExecuteContext } from './source.js';

/**
 * The limit counter of one `execute` call: the tighter of the plan's limits (`ctx.limits`)
 * and the source's own, with errors naming the call's fragment and the source.
 */
export function callLimits(ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>, own: Limits, source?: string): LimitCounter {
  return createLimitCounter(tighter(ctx.limits, own), { fragmentId: ctx.fragmentId, source });
}
