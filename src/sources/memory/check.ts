import type { z } from 'zod';
import type { Row } from '../../data/row.js';
import type { Predicate } from '../../plan/schema.js';
import type { MemoryQuery } from './connector.js';

/** Each table's column names: every key of its rows, in order of first appearance. */
export function tableColumns(tables: ReadonlyMap<string, readonly Row[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, rows] of tables) {
    const seen = new Set<string>();
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
    out.set(name, [...seen]);
  }
  return out;
}

/** The columns a predicate reads, each with its path inside the predicate. */
function predicateColumns(p: Predicate, path: (string | number)[], out: { column: string; path: (string | number)[] }[]): void {
  if ('and' in p || 'or' in p) {
    const key = 'and' in p ? 'and' : 'or';
    const list = 'and' in p ? p.and : p.or;
    list.forEach((q, i) => predicateColumns(q, [...path, key, i], out));
  } else if ('not' in p) predicateColumns(p.not, [...path, 'not'], out);
  else if ('isNull' in p) out.push({ column: p.isNull, path: [...path, 'isNull'] });
  else {
    const [key, args] = Object.entries(p)[0] as [string, [string, unknown]];
    out.push({ column: args[0], path: [...path, key, 0] });
  }
}

/**
 * Checks a memory query against the source's tables when the plan is validated (so
 * `tributary validate --sources` and `executor.validate` catch it before anything runs):
 * the table must exist, and the listed and filtered columns must be among its columns
 * (an empty table has none to check against).
 */
export function checkMemoryQuery(columns: ReadonlyMap<string, string[]>): (query: MemoryQuery, ctx: z.RefinementCtx) => void {
  return (query, ctx) => {
    const known = columns.get(query.table);
    if (known === undefined) {
      const names = [...columns.keys()];
      ctx.addIssue({ code: 'custom', path: ['table'], message: `no table "${query.table}" in this memory source (its tables: ${names.length > 0 ? names.join(', ') : 'none'})` });
      return;
    }
    if (known.length === 0) return;
    const has = new Set(known);
    const unknown = (column: string, path: (string | number)[]): void => {
      if (!has.has(column)) ctx.addIssue({ code: 'custom', path, message: `table "${query.table}" has no column "${column}" (its columns: ${known.join(', ')})` });
    };
    query.columns?.forEach((c, i) => unknown(c, ['columns', i]));
    if (query.where !== undefined) {
      const read: { column: string; path: (string | number)[] }[] = [];
      predicateColumns(query.where, ['where'], read);
      for (const r of read) unknown(r.column, r.path);
    }
  };
}
