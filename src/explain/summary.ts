import { isFromRef, isParamRef } from '../plan/index.js';
import type { Predicate } from '../plan/index.js';
import { oneLine, truncate } from './escape.js';

/**
 * One line that says what a fragment's native query does, recognised by shape so it works
 * without the sources: SQL → its first line; a memory scan → `table t [cols] where …`;
 * HTTP → `GET /path`; anything else → compact JSON.
 */
export function querySummary(query: unknown, maxLength = 80): string {
  return truncate(describe(query), maxLength);
}

function describe(query: unknown): string {
  if (typeof query !== 'object' || query === null) return JSON.stringify(query) ?? String(query);
  const q = query as Record<string, unknown>;
  if (typeof q.sql === 'string') {
    const lines = q.sql.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    const first = oneLine(lines[0] ?? '');
    return lines.length > 1 ? `${first} …` : first;
  }
  if (typeof q.table === 'string') {
    let out = `table ${q.table}`;
    if (Array.isArray(q.columns)) out += ` [${q.columns.map(String).join(', ')}]`;
    if (q.where !== undefined) out += ` where ${predicateText(q.where as Predicate)}`;
    return out;
  }
  if (typeof q.path === 'string') {
    const method = typeof q.method === 'string' ? q.method : 'GET';
    const search = q.searchParams && typeof q.searchParams === 'object' ? Object.keys(q.searchParams) : [];
    return `${method} ${q.path}${search.length > 0 ? `?${search.map((k) => `${k}=…`).join('&')}` : ''}`;
  }
  return oneLine(JSON.stringify(query) ?? '');
}

const COMPARISONS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** A predicate as readable text: `total > 10 and region in $regions`. */
export function predicateText(p: Predicate): string {
  for (const [key, symbol] of Object.entries(COMPARISONS)) {
    if (key in p) {
      const [column, value] = (p as Record<string, [string, unknown]>)[key]!;
      return `${column} ${symbol} ${valueText(value)}`;
    }
  }
  if ('in' in p) return `${p.in[0]} in ${valueText(p.in[1])}`;
  if ('isNull' in p) return `${p.isNull} is null`;
  if ('and' in p) return p.and.map((q) => group(q)).join(' and ');
  if ('or' in p) return p.or.map((q) => group(q)).join(' or ');
  if ('not' in p) return `not ${group(p.not)}`;
  return JSON.stringify(p);
}

function group(p: Predicate): string {
  return 'and' in p || 'or' in p ? `(${predicateText(p)})` : predicateText(p);
}

/** A literal, a bound column (`customers.id`) or a run parameter (`$region`). */
export function valueText(value: unknown): string {
  if (isFromRef(value)) return `${value.$from}.${value.column}`;
  if (isParamRef(value)) return `$${value.$param}`;
  if (Array.isArray(value)) return `(${value.map(valueText).join(', ')})`;
  return JSON.stringify(value) ?? String(value);
}
