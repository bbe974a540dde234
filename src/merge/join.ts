import type { Row } from '../data/row.js';
import { mergeFailed } from '../data/fail.js';
import { matchIndices } from './hash.js';
import type { Relation, RelationResult } from './relation.js';
import { getColumn, OBJECT_PROTOTYPE, plainName, setColumn } from '../data/row.js';

export type JoinType = 'inner' | 'left' | 'semi' | 'anti';

export interface JoinSpec {
  type: JoinType;
  /** `[leftColumn, rightColumn]` pairs; rows match when every pair is equal (and non-null). */
  on: readonly (readonly [string, string])[];
  /** Prefix for right columns whose names clash with left ones: the fragment id, or `right`. */
  rightName: string;
}

/**
 * The right input's columns as they appear in the output: a name already used on the left
 * becomes `<rightName>.<column>`. A renamed column that still clashes is an error rather
 * than a silent overwrite.
 */
function rightOutputNames(left: Relation, right: Relation, rightName: string, path: string): string[] {
  const taken = new Set(left.columns);
  return right.columns.map((column) => {
    const name = taken.has(column) ? `${rightName}.${column}` : column;
    if (taken.has(name)) {
      throw mergeFailed(path, `right column "${column}" would be renamed "${name}", which is already taken`);
    }
    taken.add(name);
    return name;
  });
}

/**
 * Hash join on column pairs (SQL semantics: null keys never match). `inner` and `left`
 * rows hold the left columns then the right columns (clashing right names renamed, see
 * `rightOutputNames`); a `left` row without a match gets `null` in every right column.
 * `semi` keeps each left row that has a match, once; `anti` keeps those without one,
 * including rows whose key is null (as SQL's NOT EXISTS). Output order is left-row order
 * and, per left row, right-row order, whichever side the hash table was built on.
 */
export function join(left: Relation, right: Relation, spec: JoinSpec, path = 'join'): RelationResult {
  const matches = matchIndices(
    left.rows,
    spec.on.map(([l]) => l),
    right.rows,
    spec.on.map(([, r]) => r),
  );
  if (spec.type === 'semi' || spec.type === 'anti') {
    const wanted = spec.type === 'semi';
    return { rows: left.rows.filter((_, i) => ((matches[i]?.length ?? 0) > 0) === wanted), columns: [...left.columns] };
  }
  const rightNames = rightOutputNames(left, right, spec.rightName, path);
  // The column plan: which input column feeds which output column, resolved once.
  const names = [...left.columns, ...rightNames];
  // A template row with every output column (as null) in order; each output row starts as
  // a copy of it, so rows share one shape and no property is added one at a time.
  const template: Row = {};
  for (const name of names) setColumn(template, name, null);
  // `out.__proto__ = v` would set the prototype: a column of that name goes through setColumn.
  const plain = (name: string): boolean => name !== '__proto__';
  const leftFrom = left.columns.filter((_, k) => plain(names[k] as string));
  const leftTo = names.slice(0, left.columns.length).filter(plain);
  const rightFrom = right.columns.filter((_, k) => plain(rightNames[k] as string));
  const rightTo = rightNames.filter(plain);
  const protoAt = names.indexOf('__proto__');
  const leftPlain = leftFrom.map(plainName);
  const rightPlain = rightFrom.map(plainName);
  const build = (l: Row, r: Row | undefined): Row => {
    const out: Row = { ...template };
    // Inlined `readColumn`: the prototype is looked up once per input row, not per column.
    let proto: unknown = Object.getPrototypeOf(l);
    let plainRow = proto === OBJECT_PROTOTYPE || proto === null;
    for (let k = 0; k < leftFrom.length; k++) {
      const column = leftFrom[k] as string;
      const value = l[column];
      if (value === undefined || value === null) continue;
      if ((plainRow && leftPlain[k] === true) || Object.hasOwn(l, column)) out[leftTo[k] as string] = value;
    }
    if (r !== undefined) {
      proto = Object.getPrototypeOf(r);
      plainRow = proto === OBJECT_PROTOTYPE || proto === null;
      for (let k = 0; k < rightFrom.length; k++) {
        const column = rightFrom[k] as string;
        const value = r[column];
        if (value === undefined || value === null) continue;
        if ((plainRow && rightPlain[k] === true) || Object.hasOwn(r, column)) out[rightTo[k] as string] = value;
      }
    }
    if (protoAt >= 0) {
      const onLeft = protoAt < left.columns.length;
      const from = onLeft ? l : r;
      const column = onLeft ? left.columns[protoAt] : right.columns[protoAt - left.columns.length];
      setColumn(out, '__proto__', from === undefined ? null : (getColumn(from, column as string) ?? null));
    }
    return out;
  };
  const rows: Row[] = [];
  const leftRows = left.rows;
  const rightRows = right.rows;
  const keepUnmatched = spec.type === 'left';
  for (let i = 0; i < leftRows.length; i++) {
    const l = leftRows[i] as Row;
    const found = matches[i] as readonly number[];
    for (let m = 0; m < found.length; m++) rows.push(build(l, rightRows[found[m] as number]));
    if (found.length === 0 && keepUnmatched) rows.push(build(l, undefined));
  }
  return { rows, columns: [...left.columns, ...rightNames] };
}
