import { TributaryError } from '../errors.js';
import type { Fragment, ValidatedPlan } from '../plan/index.js';
import type { Principal } from '../sources/source.js';

/** What `authorize` is asked about: one fragment of a plan, on one source. */
export interface AuthorizeRequest {
  /** The source's registered name. */
  source: string;
  fragment: Fragment;
  plan: ValidatedPlan;
  /** The run's own params (`run(plan, { params })`; `{}` without): what its `{ "$param" }` references bind. */
  params: Readonly<Record<string, unknown>>;
}

/** `true` allows; `false` or a string (the reason) refuses. Anything else refuses too. */
export type AuthorizeAnswer = boolean | string;

/**
 * The executor's access rule (`createExecutor({ authorize })`), asked for every fragment of
 * a run before any source is called. `principal` is undefined for an anonymous run.
 *
 * @example
 * authorize: (principal, { source }) => source !== 'payroll' || principal?.role === 'hr' || 'payroll is for HR only'
 */
export type Authorize = (principal: Principal | undefined, request: AuthorizeRequest) => AuthorizeAnswer | Promise<AuthorizeAnswer>;

/** One fragment's verdict: allowed, or refused with a reason. */
export interface FragmentAccess {
  fragmentId: string;
  source: string;
  /** Where it sits in the plan (`fragments[2]`). */
  path: string;
  allowed: boolean;
  /** Why it is refused (the rule's own words when it gave a string). */
  reason?: string;
}

/** The verdict for one answer; a rule that throws or answers something odd refuses (fails closed). */
function verdict(f: Fragment, index: number, answer: unknown, thrown: boolean): FragmentAccess {
  const base = { fragmentId: f.id, source: f.source, path: `fragments[${index}]` };
  if (thrown) return { ...base, allowed: false, reason: `authorize threw: ${answer instanceof Error ? answer.message : String(answer)}` };
  if (answer === true) return { ...base, allowed: true };
  if (typeof answer === 'string' && answer !== '') return { ...base, allowed: false, reason: answer };
  if (answer === false || answer === '') return { ...base, allowed: false, reason: 'refused by the access rule' };
  return { ...base, allowed: false, reason: `authorize answered ${typeof answer}, not true, false or a reason` };
}

/**
 * Asks `authorize` about every fragment. Synchronous when every answer is (the common case:
 * no promise, no microtask); a promise as soon as one answer is a promise.
 */
export function checkAccess(authorize: Authorize, plan: ValidatedPlan, principal: Principal | undefined, params: Readonly<Record<string, unknown>> = {}): FragmentAccess[] | Promise<FragmentAccess[]> {
  const answers = plan.fragments.map((fragment, index): FragmentAccess | Promise<FragmentAccess> => {
    let answer: unknown;
    try {
      answer = authorize(principal, { source: fragment.source, fragment, plan, params });
    } catch (error) {
      return verdict(fragment, index, error, true);
    }
    if (!isPromiseLike(answer)) return verdict(fragment, index, answer, false);
    return Promise.resolve(answer).then(
      (a) => verdict(fragment, index, a, false),
      (error: unknown) => verdict(fragment, index, error, true),
    );
  });
  if (answers.every((a): a is FragmentAccess => !isPromiseLike(a))) return answers;
  return Promise.all(answers);
}

/** The FORBIDDEN error for the refused fragments, or undefined when all are allowed. */
export function forbiddenError(access: readonly FragmentAccess[], principal: Principal | undefined): TributaryError | undefined {
  const refused = access.filter((a) => !a.allowed);
  if (refused.length === 0) return undefined;
  const who = principal === undefined ? 'an anonymous caller' : `principal ${JSON.stringify(principal.id)}`;
  const issues = refused.map((a) => ({ path: a.path, message: `fragment "${a.fragmentId}" on source "${a.source}": ${a.reason ?? 'refused'}` }));
  const list = refused.map((a) => `"${a.fragmentId}" (${a.reason ?? 'refused'})`).join(', ');
  return new TributaryError('FORBIDDEN', `${who} may not run ${refused.length === 1 ? 'fragment' : 'fragments'} ${list}; nothing ran`, { issues });
}

/**
 * A run's authorization: throws FORBIDDEN at once when every answer is synchronous and one
 * refuses; returns undefined when all allow; returns a promise (rejecting with FORBIDDEN)
 * when some answer is a promise, for the run to wait on before it starts.
 */
export function authorizeRun(authorize: Authorize, plan: ValidatedPlan, principal: Principal | undefined, params?: Readonly<Record<string, unknown>>): Promise<void> | undefined {
  const access = checkAccess(authorize, plan, principal, params);
  if (!isPromiseLike(access)) {
    const error = forbiddenError(access, principal);
    if (error) throw error;
    return undefined;
  }
  return access.then((all) => {
    const error = forbiddenError(all, principal);
    if (error) throw error;
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
