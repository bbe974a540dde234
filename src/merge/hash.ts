import type { Row } from '../data/row.js';
import { plainName } from '../data/row.js';
import { joinKeys, NO_KEY, primitiveKeyRead, type PrimitiveKey } from '../data/values.js';

const NO_MATCHES: readonly number[] = Object.freeze([]);

type Keys = readonly (PrimitiveKey | undefined)[];

/**
 * Both sides' keys, of one kind: primitive keys when the key is one column whose values
 * all have one (numbers, strings, booleans, bigints), else `valueKey` strings for both.
 */
function keysOf(
  left: readonly Row[],
  leftColumns: readonly string[],
  right: readonly Row[],
  rightColumns: readonly string[],
): [Keys, Keys] {
  if (leftColumns.length === 1) {
    const l = joinKeys(left, leftColumns, true);
    const r = l === NO_KEY ? NO_KEY : joinKeys(right, rightColumns, true);
    if (l !== NO_KEY && r !== NO_KEY) return [l, r];
  }
  return [joinKeys(left, leftColumns, false) as Keys, joinKeys(right, rightColumns, false) as Keys];
}

/** Key → indices of the rows holding it, in row order; rows with a null key are left out. */
function buildTable(keys: Keys): Map<PrimitiveKey, number[]> {
  const table = new Map<PrimitiveKey, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === undefined) continue;
    const bucket = table.get(key);
    if (bucket === undefined) table.set(key, [i]);
    else bucket.push(i);
  }
  return table;
}

/**
 * Fills `table` with the indices of `rows` by the primitive key of `column`, in row order,
 * leaving out null keys; false as soon as a value has no primitive key. A function that only
 * loops: V8 may compile it during its first call, before code around the loop has type
 * feedback, and such code would deoptimize on every later call.
 */
function fillTable(rows: readonly Row[], column: string, plain: boolean, table: Map<PrimitiveKey, number[]>): boolean {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    const key = primitiveKeyRead(row, column, plain, row[column]);
    if (key === null) continue;
    if (key === NO_KEY) return false;
    const bucket = table.get(key);
    if (bucket === undefined) table.set(key, [i]);
    else bucket.push(i);
  }
  return true;
}

/** Sets `matches[i]` to the bucket of left row i's primitive key; false as soon as a value has none. Only loops, as `fillTable`. */
function probeTable(rows: readonly Row[], column: string, plain: boolean, table: Map<PrimitiveKey, number[]>, matches: (readonly number[])[]): boolean {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    const key = primitiveKeyRead(row, column, plain, row[column]);
    if (key === null) continue;
    if (key === NO_KEY) return false;
    const bucket = table.get(key);
    if (bucket !== undefined) matches[i] = bucket;
  }
  return true;
}

/**
 * `matchIndices` for one key column with the table on the right: primitive keys read
 * straight from the rows into the table and the probes, no key arrays. `undefined` when a
 * value on either side has no primitive key: both sides are then keyed by `valueKey`.
 */
function matchOnPrimitiveKeys(
  left: readonly Row[],
  leftColumn: string,
  right: readonly Row[],
  rightColumn: string,
): (readonly number[])[] | undefined {
  const table = new Map<PrimitiveKey, number[]>();
  if (!fillTable(right, rightColumn, plainName(rightColumn), table)) return undefined;
  const matches = new Array<readonly number[]>(left.length).fill(NO_MATCHES);
  return probeTable(left, leftColumn, plainName(leftColumn), table, matches) ? matches : undefined;
}

/**
 * For each left row (by index), the indices of the right rows whose keys equal its own, in
 * right-row order. The hash table is built on the smaller input, yet the answer is the same
 * either way, so join and nest output never depends on which side was bigger.
 * Null keys never match.
 */
export function matchIndices(
  left: readonly Row[],
  leftColumns: readonly string[],
  right: readonly Row[],
  rightColumns: readonly string[],
): (readonly number[])[] {
  if (leftColumns.length === 1 && right.length <= left.length) {
    const matches = matchOnPrimitiveKeys(left, leftColumns[0] as string, right, rightColumns[0] as string);
    if (matches !== undefined) return matches;
  }
  const [leftKeys, rightKeys] = keysOf(left, leftColumns, right, rightColumns);
  const matches = new Array<readonly number[]>(left.length).fill(NO_MATCHES);
  if (right.length <= left.length) {
    const table = buildTable(rightKeys);
    for (let i = 0; i < leftKeys.length; i++) {
      const key = leftKeys[i];
      if (key === undefined) continue;
      const bucket = table.get(key);
      if (bucket !== undefined) matches[i] = bucket;
    }
    return matches;
  }
  const table = buildTable(leftKeys);
  // Scanning the right rows in order appends each left row's matches in right-row order.
  for (let j = 0; j < rightKeys.length; j++) {
    const key = rightKeys[j];
    if (key === undefined) continue;
    const bucket = table.get(key);
    if (bucket === undefined) continue;
    for (const i of bucket) {
      const found = matches[i] as number[];
      if (found === NO_MATCHES) matches[i] = [j];
      else found.push(j);
    }
  }
  return matches;
}
