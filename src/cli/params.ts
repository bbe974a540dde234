import type { ErrorIssue } from '../errors.js';
import { findRefs, formatPath, isParamRef, type ValidatedPlan } from '../plan/index.js';
import { parseExactJson } from './exact-json.js';
import { InputError } from './io.js';

/**
 * `--param name=value` options as run params. A value is parsed as JSON when it is JSON
 * (`n=10` → 10, `ok=true`, `ids=[1,2]`, `s="10"` → the string "10"), else kept as the
 * string (`region=EU`). Its numbers follow the values policy, as a database gives them: an
 * integer beyond ±2^53 or a decimal of more than 15 significant digits is its exact decimal
 * string (`id=9007199254740993` binds 9007199254740993, not the nearest double). The last
 * of repeated names wins. A malformed option throws `InputError` (exit 2).
 */
export function parseParams(values: readonly string[] | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const issues: ErrorIssue[] = [];
  for (const [i, raw] of (values ?? []).entries()) {
    const eq = raw.indexOf('=');
    if (eq <= 0) {
      issues.push({ path: `--param[${i}]`, message: `"${raw}" is not name=value (e.g. --param region=EU)` });
      continue;
    }
    const name = raw.slice(0, eq);
    const text = raw.slice(eq + 1);
    const value = paramValue(text);
    Object.defineProperty(params, name, { value, enumerable: true, configurable: true, writable: true });
  }
  if (issues.length > 0) throw new InputError('invalid arguments', issues);
  return params;
}

/** A `--param` value: JSON with exact numbers (see parseParams), else the text itself. */
function paramValue(text: string): unknown {
  try {
    return parseExactJson(text);
  } catch {
    return text;
  }
}

/** Every `{ "$param": name }` of a plan (fragment queries and the merge tree) → where it is used. */
export function planParams(plan: Pick<ValidatedPlan, 'fragments' | 'merge'>): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const collect = (root: unknown, prefix: string): void => {
    for (const { ref, path } of findRefs(root)) {
      if (!isParamRef(ref)) continue;
      const at = formatPath(prefix, path);
      used.set(ref.$param, [...(used.get(ref.$param) ?? []), at]);
    }
  };
  plan.fragments.forEach((f, i) => collect(f.query, `fragments[${i}].query`));
  if (plan.merge !== undefined) collect(plan.merge, 'merge');
  return used;
}

/**
 * Checks the `--param` options against the plan before anything runs: each parameter the
 * plan uses must be given (unless `missing` is false: explain draws a plan without its
 * values), and each one given must be used (a misspelt name would otherwise be ignored while
 * the plan fails for the real one). Throws `InputError`.
 */
export function checkParams(plan: Pick<ValidatedPlan, 'fragments' | 'merge'>, params: Readonly<Record<string, unknown>>, { missing = true }: { missing?: boolean } = {}): void {
  const used = planParams(plan);
  const issues: ErrorIssue[] = [];
  for (const [name, paths] of used) {
    if (missing && !Object.hasOwn(params, name)) {
      issues.push({ path: `--param ${name}`, message: `missing: the plan uses { "$param": "${name}" } at ${paths.join(', ')}; pass --param ${name}=<value>` });
    }
  }
  const known = [...used.keys()];
  for (const name of Object.keys(params)) {
    if (used.has(name)) continue;
    const hint = known.length === 0 ? 'the plan takes no parameters' : `the plan's parameters are ${known.join(', ')}`;
    issues.push({ path: `--param ${name}`, message: `unknown: the plan has no { "$param": "${name}" } (${hint})` });
  }
  if (issues.length > 0) throw new InputError('invalid arguments', issues);
}
