import type { Row } from '../sources/source.js';
import { joinKey } from './values.js';

const NO_MATCHES: readonly number[] = Object.freeze([]);

/** Key → indices of the rows holding it, in row order; rows with a null key are left out. */
function buildTable(rows: readonly Row[], columns: readonly string[]): Map<string, number[]> {
  const table = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = joinKey(row, columns);
    if (key === undefined) return;
    const bucket = table.get(key);
    if (bucket) bucket.push(i);
    else table.set(key, [i]);
  });
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
  const matches: (readonly number[])[] = new Array<readonly number[]>(left.length).fill(NO_MATCHES);
  if (right.length <= left.length) {
    const table = buildTable(right, rightColumns);
    left.forEach((row, i) => {
      const key = joinKey(row, leftColumns);
      const bucket = key === undefined ? undefined : table.get(key);
      if (bucket) matches[i] = bucket;
    });
    return matches;
  }
  const table = buildTable(left, leftColumns);
  const found: number[][] = [];
  // Scanning the right rows in order appends each left row's matches in right-row order.
  right.forEach((row, j) => {
    const key = joinKey(row, rightColumns);
    const bucket = key === undefined ? undefined : table.get(key);
    for (const i of bucket ?? []) (found[i] ??= []).push(j);
  });
  found.forEach((indices, i) => {
    matches[i] = indices;
  });
  return matches;
}
