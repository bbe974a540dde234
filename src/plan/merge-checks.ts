import type { ErrorIssue } from '../errors.js';
import { joinRightName, RENAME_HINT, type MergeNode } from './schema.js';
import { knownColumns } from './known-columns.js';

/**
 * What a merge tree gets wrong on its face, found before anything runs rather than after
 * every fragment has: an aggregate other than `count` without a column, and an operator
 * whose output would name a column twice (an aggregate alias that repeats a `groupBy`
 * column or another alias, a `project` listing one name twice), a `nest` whose `as` is a
 * column its parent is known to have, and a join whose renamed right column its left side
 * is known to have (see `knownColumns`; the run checks the rest).
 */
export function mergeNodeIssues(node: MergeNode, path = 'merge'): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  walk(node, path, issues, new Map());
  return issues;
}

function walk(node: MergeNode, path: string, issues: ErrorIssue[], memo: Map<MergeNode, ReadonlySet<string>>): void {
  if (typeof node === 'string') return;
  switch (node.op) {
    case 'union':
      node.inputs.forEach((input, i) => walk(input, `${path}.inputs[${i}]`, issues, memo));
      return;
    case 'join':
      walk(node.left, `${path}.left`, issues, memo);
      walk(node.right, `${path}.right`, issues, memo);
      renameClashes(node, path, issues, memo);
      return;
    case 'nest':
      walk(node.parent, `${path}.parent`, issues, memo);
      walk(node.child, `${path}.child`, issues, memo);
      if (knownColumns(node.parent, memo).has(node.as)) {
        issues.push({ path: `${path}.as`, message: `the parent already has a column "${node.as}"; nest the child rows under another name` });
      }
      return;
    case 'aggregate': {
      node.aggregates.forEach((a, i) => {
        if (a.fn !== 'count' && a.column === undefined) issues.push({ path: `${path}.aggregates[${i}].column`, message: `${a.fn} needs a column` });
      });
      const names = [...(node.groupBy ?? []).map((name, i) => ({ name, at: `${path}.groupBy[${i}]` })), ...node.aggregates.map((a, i) => ({ name: a.as, at: `${path}.aggregates[${i}].as` }))];
      twice(names, issues);
      break;
    }
    case 'project':
      twice(node.columns.map((c, i) => ({ name: typeof c === 'string' ? c : c.as, at: `${path}.columns[${i}]` })), issues);
      break;
    default:
      break;
  }
  walk(node.input, `${path}.input`, issues, memo);
}

/**
 * A right column of an inner or left join whose name the left side is known to have is
 * renamed `<right name>.<column>`; when the left side is known to have that name too (a
 * join over joins whose right sides are operators, both `right.<column>`), the run would
 * fail at the merge, after every fragment ran: said here, with both columns named.
 */
function renameClashes(node: Extract<MergeNode, { op: 'join' }>, path: string, issues: ErrorIssue[], memo: Map<MergeNode, ReadonlySet<string>>): void {
  if (node.type !== 'inner' && node.type !== 'left') return;
  const left = knownColumns(node.left, memo);
  if (left.size === 0) return;
  const name = joinRightName(node);
  for (const column of knownColumns(node.right, memo)) {
    const renamed = `${name}.${column}`;
    if (!left.has(column) || !left.has(renamed)) continue;
    issues.push({
      path: node.rightAs === undefined ? `${path}.right` : `${path}.rightAs`,
      message: `right column "${column}" would be renamed "${renamed}", which the left side already has; ${RENAME_HINT}`,
    });
  }
}

function twice(names: { name: string; at: string }[], issues: ErrorIssue[]): void {
  const seen = new Set<string>();
  for (const { name, at } of names) {
    if (seen.has(name)) issues.push({ path: at, message: `output column "${name}" appears twice` });
    seen.add(name);
  }
}
