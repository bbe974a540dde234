import type { PlanModel } from './model.js';
import { inputText, planWideText, policyText, sourceText } from './describe.js';
import { oneLine, plainText } from './escape.js';
import type { MergeExplanation } from './model.js';
import { count } from './count.js';

type Model = PlanModel;

/**
 * EXPLAIN as indented text:
 *
 * ```text
 * EXPLAIN top-customers: 3 fragments in 2 levels, fail-fast, schedule levels
 *
 * level 0
 *   customers  crm (sqlite)  SELECT id, name FROM customers WHERE segment = ?
 * level 1
 *   orders     shop          SELECT customer_id, total FROM orders WHERE customer_id = ANY($1)
 *                            after customers
 *                            params[0] ← customers.id, in batches of 500
 * merge
 *   limit 10
 *   └─ join inner on id = customer_id
 *      ├─ left: customers
 *      └─ right: orders
 * ```
 */
export function explainText(model: Model): string {
  const lines: string[] = [];
  const deadline = model.deadlineMs === undefined ? '' : `, deadline ${model.deadlineMs} ms`;
  lines.push(`EXPLAIN ${oneLine(model.queryId)}: ${count(model.fragments.length, 'fragment')} in ${count(model.levels.length, 'level')}, ${model.errorPolicy}, schedule ${model.schedule}${deadline}`);
  const planWide = planWideText(model.planWide);
  if (planWide) lines.push(planWide);
  if (model.access) {
    const who = model.access.principalId === undefined ? 'an anonymous caller' : `principal ${JSON.stringify(model.access.principalId)}`;
    const n = model.access.refused;
    lines.push(`access for ${oneLine(who)}: ${n === 0 ? 'every fragment allowed' : `${n} of ${model.fragments.length} fragments refused (FORBIDDEN: nothing would run)`}`);
  }
  lines.push('');
  const byId = new Map(model.fragments.map((f) => [f.id, f]));
  const idWidth = Math.max(...model.fragments.map((f) => f.id.length));
  // Names are shown escaped (plainText), and measured as shown.
  const source = (f: Model['fragments'][number]): string => plainText(sourceText(f));
  const sourceWidth = Math.max(...model.fragments.map((f) => source(f).length));
  const indent = ' '.repeat(2 + idWidth + 2 + sourceWidth + 2);
  model.levels.forEach((ids, level) => {
    lines.push(`level ${level}`);
    for (const id of ids) {
      const f = byId.get(id)!;
      lines.push(`  ${f.id.padEnd(idWidth)}  ${source(f).padEnd(sourceWidth)}  ${f.summary}`);
      if (f.dependsOn.length > 0) lines.push(`${indent}after ${f.dependsOn.join(', ')}`);
      for (const input of f.inputs) lines.push(`${indent}${inputText(input)}`);
      const policy = policyText(f);
      if (policy) lines.push(`${indent}${policy}`);
      if (f.access && !f.access.allowed) lines.push(`${indent}REFUSED: ${oneLine(f.access.reason ?? 'refused')}`);
    }
  });
  lines.push('merge');
  lines.push(...mergeLines(model.merge, '  ', '', ''));
  // Each entry is one line: a control character from a name or query (a newline in a column
  // name, an ESC in a source name) is shown escaped, never printed.
  return lines.map(plainText).join('\n');
}

function mergeLines(node: MergeExplanation, indent: string, branch: string, role: string): string[] {
  const out = [`${indent}${branch}${role}${node.label}`];
  const childIndent = indent + (branch === '' ? '' : branch === '├─ ' ? '│  ' : '   ');
  node.inputs.forEach(({ role: r, node: child }, i) => {
    const last = i === node.inputs.length - 1;
    const shown = r === 'input' ? '' : `${r}: `;
    out.push(...mergeLines(child, childIndent, last ? '└─ ' : '├─ ', shown));
  });
  return out;
}
