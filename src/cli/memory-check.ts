import type { ErrorIssue } from '../errors.js';
import type { ValidatedPlan } from '../plan/index.js';
import { unknownTableMessage } from '../sources/memory/check.js';

/** `validate --sources`: each memory fragment's table must be one of its source's tables. */
export function checkMemoryTables(plan: Pick<ValidatedPlan, 'fragments'>, tables: ReadonlyMap<string, readonly string[]>): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  plan.fragments.forEach((f, i) => {
    const names = tables.get(f.source);
    const table = (f.query as { table?: unknown }).table;
    if (names === undefined || typeof table !== 'string') return;
    const message = unknownTableMessage(table, names);
    if (message !== undefined) issues.push({ path: `fragments[${i}].query.table`, message });
  });
  return issues;
}
