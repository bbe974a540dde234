import type { z } from 'zod';

/** One problem found by a zod schema: where (from the value checked) and what. */
export interface FoundIssue {
  path: PropertyKey[];
  message: string;
}

type Issue = z.core.$ZodIssue;

/**
 * zod's issues, with every union resolved to the alternative the value was meant to be.
 *
 * zod reports a value that fits no alternative of a union as one `Invalid input` at the
 * union, the alternatives' own issues nested inside. For a merge tree (a fragment id or an
 * operator object) or a predicate (`{ eq }`, `{ in }`, …) that hides every mistake under
 * `merge: Invalid input`. Here a union's issues are those of the alternative the value fits
 * best: the right type first, then no unknown keys, then the fewest problems. When no
 * alternative fits even that far, the message lists what was expected.
 */
export function flattenIssues(issues: readonly Issue[], base: readonly PropertyKey[] = []): FoundIssue[] {
  const out: FoundIssue[] = [];
  for (const issue of issues) collect(issue, [...base, ...issue.path], out);
  return out;
}

function collect(issue: Issue, path: PropertyKey[], out: FoundIssue[]): void {
  if (issue.code === 'unrecognized_keys') {
    // At the key itself (`crm.maxConcurency`), not at the object that holds it.
    for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key "${String(key)}"` });
    return;
  }
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
    out.push({ path, message: issue.message });
    return;
  }
  const best = bestAlternative(issue.errors);
  if (best) {
    for (const inner of best) collect(inner, [...path, ...inner.path], out);
    return;
  }
  out.push({ path, message: expectedMessage(issue.errors) });
}

/** How far off an alternative is: 0 its contents, 1 unknown keys, 2 the wrong type or literal altogether. */
function distance(alternative: readonly Issue[]): number {
  let d = 0;
  for (const issue of alternative) {
    if (issue.path.length > 0) continue;
    if (issue.code === 'invalid_type' || issue.code === 'invalid_value') return 2;
    if (issue.code === 'unrecognized_keys') d = Math.max(d, 1);
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const inner = bestAlternative(issue.errors);
      d = Math.max(d, inner ? distance(inner) : 2);
    }
  }
  return d;
}

/**
 * The alternative the value was most likely meant to be: of those of the right type with no
 * unknown key, the one with the fewest problems; else the only one of the right type. None
 * when no alternative fits the value's shape.
 */
function bestAlternative(alternatives: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  const distances = alternatives.map(distance);
  const nearest = Math.min(...distances);
  if (nearest === 2) return undefined;
  const candidates = alternatives.filter((_, i) => distances[i] === nearest);
  if (nearest === 1) return candidates.length === 1 ? candidates[0] : undefined;
  return candidates.reduce((a, b) => (b.length < a.length ? b : a));
}

/** A required key the value lacks (`received undefined`, or a union of which no alternative accepts undefined). */
function isMissing(issue: Issue): boolean {
  if (issue.code === 'invalid_type') return issue.message.endsWith('received undefined');
  return issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every((a) => a.some((i) => i.path.length === 0 && isMissing(i)));
}

/** What a union accepts, for a value that fits none of its alternatives. */
function expectedMessage(alternatives: readonly (readonly Issue[])[]): string {
  const unknown = new Set<string>();
  const shapes: string[] = [];
  const types: string[] = [];
  let received = '';
  for (const alternative of alternatives) {
    const required: string[] = [];
    for (const issue of alternative) {
      if (issue.path.length === 0 && issue.code === 'unrecognized_keys') for (const key of issue.keys) unknown.add(key);
      else if (issue.path.length === 0 && issue.code === 'invalid_type') {
        if (!types.includes(issue.expected)) types.push(issue.expected);
        received ||= / received (\w+)/.exec(issue.message)?.[1] ?? '';
      } else if (issue.path.length === 0 && issue.code === 'invalid_value') {
        for (const v of issue.values) if (!types.includes(JSON.stringify(v) ?? String(v))) types.push(JSON.stringify(v) ?? String(v));
      } else if (issue.path.length === 1 && isMissing(issue)) {
        required.push(String(issue.path[0]));
      }
    }
    if (required.length > 0) shapes.push(required.map((k) => `"${k}"`).join(' + '));
  }
  if (unknown.size > 0) {
    const keys = [...unknown].map((k) => `"${k}"`).join(', ');
    const options = shapes.length > 0 ? `; expected one of ${shapes.join(', ')}` : '';
    return `unknown ${unknown.size === 1 ? 'key' : 'keys'} ${keys}${options}`;
  }
  const expected = [...types, ...(shapes.length > 0 ? [`an object with ${shapes.join(' or ')}`] : [])];
  if (expected.length === 0) return 'Invalid input';
  return `Invalid input: expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}`;
}
