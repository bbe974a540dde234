import type { Row } from '../data/row.js';
import { divideToNumber, exactValue, NUMBER_DIGITS, toDecimal } from '../data/decimal.js';
import { isPlainRow, plainName } from '../data/row.js';

/**
 * Exact sums of decimal numbers as scaled integers, the fast path of `sum` / `avg` over a
 * DECIMAL column: each value's shortest decimal text (`12.5` → digits 125, scale 1) is read
 * as an integer of units of 10^-scale, all are brought to the column's largest scale, and
 * the integers add exactly while their magnitudes stay within 2^53. Anything else — a
 * value in exponent form, more than 15 significant digits (a binary float), a total that
 * could leave the safe integers — gives `undefined`, and decimal.js takes over.
 */

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k); // exact in a double up to 10^22

/** Per group: the exact sum in units of 10^-scale. */
export interface ScaledSums {
  sums: Float64Array;
  scale: number;
}

export function scaledSums(rows: readonly Row[], ids: Int32Array, groupCount: number, column: string): ScaledSums | undefined {
  const digits = new Float64Array(rows.length);
  const scales = new Uint8Array(rows.length);
  const present = new Uint8Array(rows.length);
  const plain = plainName(column);
  let scale = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    let value = row[column];
    if (value !== undefined && !(plain && isPlainRow(row)) && !Object.hasOwn(row, column)) value = undefined;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number') return undefined;
    present[i] = 1;
    if (Number.isSafeInteger(value)) {
      digits[i] = value;
      continue;
    }
    const text = String(value);
    const point = text.indexOf('.');
    if (point < 0 || text.includes('e')) return undefined;
    const unscaled = Number(`${text.slice(0, point)}${text.slice(point + 1)}`);
    const k = text.length - point - 1;
    // More than 15 significant digits: no DECIMAL the values policy gives as a number.
    if (!Number.isSafeInteger(unscaled) || String(Math.abs(unscaled)).length > NUMBER_DIGITS || k >= POW10.length) return undefined;
    digits[i] = unscaled;
    scales[i] = k;
    if (k > scale) scale = k;
  }
  const sums = new Float64Array(groupCount);
  let magnitude = 0;
  for (let i = 0; i < rows.length; i++) {
    if (present[i] === 0) continue;
    const scaled = (digits[i] as number) * (POW10[scale - (scales[i] as number)] as number);
    magnitude += scaled < 0 ? -scaled : scaled;
    const g = ids[i] as number;
    sums[g] = (sums[g] as number) + scaled;
  }
  // Every partial sum of every group is bounded by the total magnitude: all were exact.
  return magnitude <= Number.MAX_SAFE_INTEGER ? { sums, scale } : undefined;
}

/** `units × 10^-scale` as decimal text (`-12345`, 2 → `'-123.45'`). */
function scaledText(units: number, scale: number): string {
  if (scale === 0) return String(units);
  const sign = units < 0 ? '-' : '';
  const abs = String(Math.abs(units)).padStart(scale + 1, '0');
  return `${sign}${abs.slice(0, -scale)}.${abs.slice(-scale)}`;
}

/** The exact sum as the values policy gives a decimal (a number up to 15 digits, else the exact string). */
export function scaledTotal(units: number, scale: number): number | string {
  return scale === 0 ? units : exactValue(scaledText(units, scale));
}

/** The exact average `units × 10^-scale / n`, rounded once to the nearest double. */
export function scaledMean(units: number, scale: number, n: number): number {
  const denominator = n * (POW10[scale] as number);
  // Both operands exact integers: IEEE division rounds the exact quotient correctly.
  if (Number.isSafeInteger(denominator)) return units / denominator;
  return divideToNumber(toDecimal(scaledText(units, scale)), n);
}
