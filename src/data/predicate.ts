import type { Predicate, PredicateValue } from '../plan/schema.js';
import { compareValues } from './compare.js';
import { mergeFailed as fail } from './fail.js';
import { getColumn, isNullish, isPlainRow, plainName, readColumn, type Row } from './row.js';
import { valueKey } from './values.js';

/** SQL three-valued logic: `null` is UNKNOWN. */
type Truth = boolean | null;
type Test = (row: Row) => Truth;

/** Looks up a `{ $param }` value; `undefined` means the parameter was not given. */
export type ParamResolver = (name: string) => unknown;

type Comparison = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Replaces a `{ $param }` by its value; an unresolved `{ $from }` cannot be evaluated here. */
function resolve(value: unknown, resolveParam: ParamResolver | undefined, path: string): unknown {
  if (!isPlainObject(value)) return value;
  if (typeof value.$from === 'string') {
    throw fail(path, `unresolved { $from: "${value.$from}" } reference: $from binds only in a fragment's query`);
  }
  if (typeof value.$param !== 'string') return value;
  const resolved = resolveParam?.(value.$param);
  if (resolved === undefined) throw fail(path, `parameter "${value.$param}" was not given`);
  return resolved;
}

/**
 * Value equality of `v` (a row's non-null value) and `value`, as `valueKey` defines it.
 * Two numbers or two strings compare directly — their keys are equal exactly when they are
 * (`===`, or both NaN) — without building a key per row; other pairs go through the keys.
 */
function sameValue(v: unknown, value: unknown, key: string): boolean {
  const kind = typeof value;
  if (typeof v === kind && (kind === 'number' || kind === 'string')) return v === value || (v !== v && value !== value);
  return valueKey(v) === key;
}

function comparison(op: Comparison, column: string, value: unknown): Test {
  // Any comparison with NULL is UNKNOWN, whatever the row holds.
  if (isNullish(value)) return () => null;
  const plain = plainName(column);
  if (op === 'eq' || op === 'ne') {
    const key = valueKey(value);
    const wanted = op === 'eq';
    const kind = typeof value;
    // The hot case (a number or a string, NaN aside): one loop body, no call per row but
    // for a value of another kind.
    if ((kind === 'number' && value === value) || kind === 'string') {
      return (row) => {
        const v = row[column];
        if (v === undefined || v === null) return null;
        if (!(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) return null;
        if (typeof v === kind) return (v === value) === wanted;
        return (valueKey(v) === key) === wanted;
      };
    }
    return (row) => {
      const v = readColumn(row, column, plain);
      return isNullish(v) ? null : sameValue(v, value, key) === wanted;
    };
  }
  return (row) => {
    const c = compareValues(readColumn(row, column, plain), value);
    if (c === undefined) return null;
    return op === 'lt' ? c < 0 : op === 'le' ? c <= 0 : op === 'gt' ? c > 0 : c >= 0;
  };
}

/** The one primitive kind every entry of `list` has ('number' or 'string'), else undefined. */
function onlyKind(list: readonly unknown[]): 'number' | 'string' | undefined {
  const kind = typeof list[0];
  if (kind !== 'number' && kind !== 'string') return undefined;
  for (const v of list) if (typeof v !== kind) return undefined;
  return kind;
}

/**
 * SQL `IN`: TRUE on a match; else UNKNOWN when the value or a list entry is NULL; else FALSE.
 * An empty list matches nothing and is FALSE for every row, a NULL too (`x IN ()` has no
 * comparison to be UNKNOWN), so `not in []` keeps every row, as PostgreSQL's `x <> ALL('{}')`.
 */
function membership(column: string, list: readonly unknown[]): Test {
  if (list.length === 0) return () => false;
  const keys = new Set(list.filter((v) => !isNullish(v)).map(valueKey));
  const listHasNull = list.some(isNullish);
  // A list of numbers only (or strings only) answers a value of that kind by the values
  // themselves: a Set's SameValueZero is valueKey's equality within one kind (NaN = NaN, -0 = 0).
  const kind = listHasNull ? undefined : onlyKind(list);
  const raw = kind ? new Set(list) : undefined;
  const plain = plainName(column);
  return (row) => {
    const v = readColumn(row, column, plain);
    if (isNullish(v)) return null;
    if (raw && typeof v === kind) return raw.has(v);
    return keys.has(valueKey(v)) ? true : listHasNull ? null : false;
  };
}

function compile(p: Predicate, resolveParam: ParamResolver | undefined, path: string): Test {
  const value = (v: PredicateValue, at: string): unknown => resolve(v, resolveParam, at);
  if ('eq' in p) return comparison('eq', p.eq[0], value(p.eq[1], `${path}.eq[1]`));
  if ('ne' in p) return comparison('ne', p.ne[0], value(p.ne[1], `${path}.ne[1]`));
  if ('lt' in p) return comparison('lt', p.lt[0], value(p.lt[1], `${path}.lt[1]`));
  if ('le' in p) return comparison('le', p.le[0], value(p.le[1], `${path}.le[1]`));
  if ('gt' in p) return comparison('gt', p.gt[0], value(p.gt[1], `${path}.gt[1]`));
  if ('ge' in p) return comparison('ge', p.ge[0], value(p.ge[1], `${path}.ge[1]`));
  if ('in' in p) {
    const at = `${path}.in[1]`;
    const raw = p.in[1];
    const list = Array.isArray(raw) ? raw.map((v, i) => value(v, `${at}[${i}]`)) : value(raw, at);
    if (!Array.isArray(list)) throw fail(at, 'an `in` list must be an array');
    return membership(p.in[0], list);
  }
  if ('isNull' in p) {
    const column = p.isNull;
    return (row) => isNullish(getColumn(row, column));
  }
  if ('and' in p) {
    const parts = p.and.map((q, i) => compile(q, resolveParam, `${path}.and[${i}]`));
    return (row) => {
      let result: Truth = true;
      for (const part of parts) {
        const t = part(row);
        if (t === false) return false;
        if (t === null) result = null;
      }
      return result;
    };
  }
  if ('or' in p) {
    const parts = p.or.map((q, i) => compile(q, resolveParam, `${path}.or[${i}]`));
    return (row) => {
      let result: Truth = false;
      for (const part of parts) {
        const t = part(row);
        if (t === true) return true;
        if (t === null) result = null;
      }
      return result;
    };
  }
  if ('not' in p) {
    const inner = compile(p.not, resolveParam, `${path}.not`);
    return (row) => {
      const t = inner(row);
      return t === null ? null : !t;
    };
  }
  p satisfies never;
  throw fail(path, `unknown predicate ${JSON.stringify(p)}`);
}

/**
 * Compiles a predicate tree into a row test, without eval. SQL three-valued logic: a
 * comparison with NULL is UNKNOWN, `not` keeps UNKNOWN, `and` / `or` follow SQL, and a row
 * passes only when the whole predicate is TRUE. `{ $param }` values are resolved once, here,
 * through `resolveParam`; a missing parameter or a leftover `{ $from }` throws MERGE_FAILED
 * with an issue at `path` (e.g. `merge.where.and[1].eq[1]`).
 * @example compilePredicate({ and: [{ eq: ['region', 'EU'] }, { gt: ['total', 100] }] })(row)
 */
export function compilePredicate(
  pred: Predicate,
  resolveParam?: ParamResolver,
  path = 'where',
): (row: Row) => boolean {
  const test = compile(pred, resolveParam, path);
  return (row) => test(row) === true;
}
