import { RefFailure, compareSql, isFromRef, isNull, isParamRef, own, same, type Row } from './ref-values.js';

/** SQL three-valued truth: null is UNKNOWN. */
type Truth = boolean | null;

const COMPARISONS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
type Comparison = (typeof COMPARISONS)[number];

/** The reference's row test: TRUE, FALSE or UNKNOWN for one row. */
export type RefTest = (row: Row) => Truth;

function value(raw: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (isFromRef(raw)) throw new RefFailure('a $from cannot be evaluated outside a fragment query');
  if (isParamRef(raw)) {
    if (!Object.prototype.hasOwnProperty.call(params, raw.$param)) throw new RefFailure(`missing param ${raw.$param}`);
    return params[raw.$param];
  }
  return raw;
}

function compare(op: Comparison, column: string, literal: unknown): RefTest {
  return (row) => {
    const v = own(row, column);
    if (isNull(v) || isNull(literal)) return null;
    if (op === 'eq') return same(v, literal);
    if (op === 'ne') return !same(v, literal);
    const c = compareSql(v, literal);
    if (c === undefined) return null;
    if (op === 'lt') return c < 0;
    if (op === 'le') return c <= 0;
    if (op === 'gt') return c > 0;
    return c >= 0;
  };
}

/**
 * Turns a predicate into a row test, resolving `$param` values first (so a bad `in` list
 * fails even when there are no rows, as the engine compiles before it scans).
 */
export function refPredicate(p: unknown, params: Readonly<Record<string, unknown>> = {}): RefTest {
  const node = p as Record<string, unknown>;
  for (const op of COMPARISONS) {
    if (Object.prototype.hasOwnProperty.call(node, op)) {
      const [column, literal] = node[op] as [string, unknown];
      return compare(op, column, value(literal, params));
    }
  }
  if (Object.prototype.hasOwnProperty.call(node, 'in')) {
    const [column, rawList] = node.in as [string, unknown];
    const list = Array.isArray(rawList) ? rawList.map((v) => value(v, params)) : value(rawList, params);
    if (!Array.isArray(list)) throw new RefFailure('an in list that is not an array');
    return (row) => {
      // x IN (): nothing to compare with, so FALSE, even for a NULL x.
      if (list.length === 0) return false;
      const v = own(row, column);
      if (isNull(v)) return null;
      let sawNull = false;
      for (const item of list) {
        if (isNull(item)) sawNull = true;
        else if (same(v, item)) return true;
      }
      return sawNull ? null : false;
    };
  }
  if (Object.prototype.hasOwnProperty.call(node, 'isNull')) {
    const column = node.isNull as string;
    return (row) => isNull(own(row, column));
  }
  if (Object.prototype.hasOwnProperty.call(node, 'and')) {
    const parts = (node.and as unknown[]).map((q) => refPredicate(q, params));
    return (row) => {
      let out: Truth = true;
      for (const part of parts) {
        const t = part(row);
        if (t === false) return false;
        if (t === null) out = null;
      }
      return out;
    };
  }
  if (Object.prototype.hasOwnProperty.call(node, 'or')) {
    const parts = (node.or as unknown[]).map((q) => refPredicate(q, params));
    return (row) => {
      let out: Truth = false;
      for (const part of parts) {
        const t = part(row);
        if (t === true) return true;
        if (t === null) out = null;
      }
      return out;
    };
  }
  if (Object.prototype.hasOwnProperty.call(node, 'not')) {
    const inner = refPredicate(node.not, params);
    return (row) => {
      const t = inner(row);
      return t === null ? null : !t;
    };
  }
  throw new Error(`reference: not a predicate: ${JSON.stringify(p)}`);
}

/** The columns a predicate reads. */
export function readColumns(where: unknown): string[] {
  const p = where as Record<string, unknown>;
  if (Array.isArray(p.and)) return p.and.flatMap(readColumns);
  if (Array.isArray(p.or)) return p.or.flatMap(readColumns);
  if (p.not !== undefined) return readColumns(p.not);
  if (typeof p.isNull === 'string') return [p.isNull];
  const args = Object.values(p)[0] as unknown[];
  return [args[0] as string];
}
