import type { Row } from '../data/row.js';
import { joinKeys, NO_KEY, type PrimitiveKey } from '../data/values.js';

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
