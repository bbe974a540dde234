import { checkAccess, type Authorize, type FragmentAccess } from '../access/index.js';
import { TributaryError } from '../errors.js';
import type { ValidatedPlan } from '../plan/index.js';
import type { Principal } from '../sources/source.js';

/**
 * The access verdicts EXPLAIN shows: the ones given, else the rule's answers for the
 * principal (which must be synchronous here: EXPLAIN is), else none.
 */
export function accessOf(
  plan: ValidatedPlan,
  options: { principal?: Principal; authorize?: Authorize; access?: readonly FragmentAccess[] },
): readonly FragmentAccess[] | undefined {
  if (options.access !== undefined) {
    if (options.access.length !== plan.fragments.length || options.access.some((a, i) => a.fragmentId !== plan.fragments[i]!.id)) {
      throw new TributaryError('CONFIG_INVALID', 'explain: access verdicts do not match the plan\'s fragments', { issues: [{ path: 'access', message: 'one verdict per fragment, in plan order' }] });
    }
    return options.access;
  }
  if (options.authorize === undefined) return undefined;
  const answers = checkAccess(options.authorize, plan, options.principal);
  if (Array.isArray(answers)) return answers;
  // Handled, so an unawaited rejection cannot surface later.
  (answers as Promise<unknown>).catch(() => undefined);
  const message = 'authorize answered with a promise: pass access: await checkAccess(authorize, validatePlan(plan), principal) instead';
  throw new TributaryError('CONFIG_INVALID', `explain: ${message}`, { issues: [{ path: 'authorize', message }] });
}
