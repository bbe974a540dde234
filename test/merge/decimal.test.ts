import { describe, expect, it } from 'vitest';
import { exactValue, isDecimalString } from '../../src/data/decimal.js';
import type { Row } from '../../src/data/row.js';
import { aggregate, type AggregateSpec } from '../../src/merge/aggregate.js';
import { compareTotal, compareValues } from '../../src/data/compare.js';
import { join } from '../../src/merge/join.js';
import { sort } from '../../src/merge/sort.js';
import { valuesEqual } from '../../src/data/values.js';
import { rel } from './support.js';
import pgLib from 'pg';
import { pgUrl, requireServer } from '../support/servers.js';

const { Client } = pgLib;
const pg = await requireServer('postgres');

/** Decimal text → cents as a bigint: an oracle that knows nothing of doubles or decimal.js. */
function cents(text: string): bigint {
  const [int = '0', frac = ''] = text.replace('-', '').split('.');
  const value = BigInt(int) * 100n + BigInt(frac.padEnd(2, '0').slice(0, 2));
  return text.startsWith('-') ? -value : value;
}
const centsText = (c: bigint): string => {
  const sign = c < 0n ? '-' : '';
  const a = c < 0n ? -c : c;
  return `${sign}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`.replace(/\.?0+$/, '').replace(/^(-?)$/, '$10');
};

/** A finite double as an exact fraction [numerator, denominator] (BigInt, no rounding anywhere). */
function fraction(d: number): [bigint, bigint] {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, d);
  const hi = bits.getUint32(0);
  const exponent = (hi >>> 20) & 0x7ff;
  const mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(bits.getUint32(4));
  const m = exponent === 0 ? mantissa : mantissa | (1n << 52n);
  const e = (exponent === 0 ? 1 : exponent) - 1075;
  const signed = d < 0 ? -m : m;
  return e >= 0 ? [signed << BigInt(e), 1n] : [signed, 1n << BigInt(-e)];
}

/** True when no double is closer to num/den than `d` (its neighbours are checked exactly). */
function isNearestDouble(d: number, num: bigint, den: bigint): boolean {
  const distance = (x: number): [bigint, bigint] => {
    const [n, m] = fraction(x);
    const diff = n * den - num * m;
    return [diff < 0n ? -diff : diff, m * den];
  };
  const [dn, dd] = distance(d);
  const next = (x: number, up: boolean): number => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    v.setBigUint64(0, v.getBigUint64(0) + ((x > 0) === up ? 1n : -1n));
    return v.getFloat64(0);
  };
  return [next(d, true), next(d, false)].every((n) => {
    const [nn, nd] = distance(n);
    return dn * nd <= nn * dd;
  });
}

describe('the decimal values policy', () => {
  it('gives a number up to 15 significant digits, else the canonical exact string', () => {
    expect(exactValue('12.50')).toBe(12.5);
    expect(exactValue('-0.00')).toBe(0);
    expect(exactValue('999999999999999')).toBe(999999999999999);
    expect(exactValue('1234567890.123456')).toBe('1234567890.123456');
    expect(exactValue('+0012345678901234567.5000')).toBe('12345678901234567.5');
    // An integer beyond 2^53 is its string, however few its digits (a BIGINT's value is too).
    expect(exactValue('1000000000000000000')).toBe('1000000000000000000');
    expect(exactValue('-1234567890123450000.000')).toBe('-1234567890123450000');
    expect(exactValue('123456789012345.1')).toBe('123456789012345.1');
    expect(exactValue('90071992547409.5')).toBe(90071992547409.5);
    expect(exactValue('NaN')).toBeNaN();
    expect(exactValue('Infinity')).toBe(Infinity);
    expect(exactValue('-Infinity')).toBe(-Infinity);
    expect(exactValue('inf')).toBe('inf');
  });

  it('recognizes decimal strings: canonical text a double cannot hold', () => {
    expect(isDecimalString('12345678901234567.5')).toBe(true);
    expect(isDecimalString('-9007199254740993')).toBe(true);
    expect(isDecimalString('9007199254740991')).toBe(false); // a safe integer is a number
    expect(isDecimalString('00012345678901234567')).toBe(false); // not canonical: text
    expect(isDecimalString('12.5')).toBe(false);
    expect(isDecimalString('1234567890.1234560')).toBe(false);
  });
});

describe('exact sums and averages', () => {
  const specs: AggregateSpec[] = [
    { fn: 'sum', column: 'v', as: 'sum' },
    { fn: 'avg', column: 'v', as: 'avg' },
  ];

  it('adds DECIMAL values to the cent, where doubles drift', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    const texts = Array.from({ length: 5000 }, () => `${next() % 100000}.${String(next() % 100).padStart(2, '0')}`);
    const rows = texts.map((t, i) => ({ g: i % 7, v: exactValue(t) }));
    const out = aggregate(rel(rows), ['g'], specs).rows;
    for (const row of out) {
      const mine = texts.filter((_, i) => i % 7 === row.g);
      const total = mine.reduce((a, t) => a + cents(t), 0n);
      expect(String(row.sum)).toBe(centsText(total));
      // The average is the exact quotient rounded once to a double.
      expect(isNearestDouble(row.avg as number, total, 100n * BigInt(mine.length))).toBe(true);
    }
    const naive = rows.reduce((a, r) => a + (r.v as number), 0);
    const exact = centsText(texts.reduce((a, t) => a + cents(t), 0n));
    expect(String(aggregate(rel(rows), undefined, specs).rows[0]?.sum)).toBe(exact);
    expect(String(naive)).not.toBe(exact); // the drift this guards against
  });

  it('gives the same sums and averages on the scaled-integer fast path as in decimal.js', () => {
    let seed = 11;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({ g: i % 13, v: i % 17 === 0 ? null : exactValue(`${next() % 10 ** (3 + (i % 9))}.${String(next() % 1000).padStart(3, '0')}`) }));
    const fast = aggregate(rel(rows), ['g'], specs).rows;
    // A decimal string in an extra group sends the whole aggregate down the general path.
    const general = aggregate(rel([...rows, { g: 99, v: '12345678901234567.5' }]), ['g'], specs).rows.slice(0, -1);
    expect(general).toEqual(fast);
  });

  it('keeps sums beyond 15 digits exact as strings, and mixes numbers with decimal strings', () => {
    const rows = [{ v: 9999999999.99 }, { v: 9999999999.99 }, { v: '12345678901234567.5' }, { v: null }];
    const [row] = aggregate(rel(rows), undefined, specs).rows;
    expect(row?.sum).toBe('12345698901234567.48');
    expect(row?.avg).toBe('4115232967078189.16');
    expect(aggregate(rel([{ v: 9999999999999.99 }, { v: 0.01 }]), undefined, specs).rows[0]?.sum).toBe(10000000000000);
  });

  it('adds a number beyond 2^53 as its shortest decimal, and gives an integer total beyond 2^53 as its string', () => {
    const sum = (values: unknown[]): unknown => aggregate(rel(values.map((v) => ({ v }))), undefined, specs).rows[0]?.sum;
    // 1.23456789012345e18 is 1234567890123450000, not the double's binary value 1234567890123449856.
    expect(sum([1.23456789012345e18, 1])).toBe('1234567890123450001');
    expect(sum(['1234567890123450000', 1])).toBe('1234567890123450001');
    expect(sum([9007199254740991, 1])).toBe('9007199254740992');
  });

  it('takes the fast path for integers and still returns the IEEE average', () => {
    const [row] = aggregate(rel([{ v: 1 }, { v: 1 }, { v: 2 }]), undefined, specs).rows;
    expect(row).toEqual({ sum: 4, avg: 4 / 3 });
  });
});

describe('decimal strings in joins, comparisons and sorting', () => {
  it('joins a decimal string with the number it spells and with its own value from another database', () => {
    expect(valuesEqual('1000000000000000000', 1e18)).toBe(true);
    expect(valuesEqual('12345678901234567.5', '12345678901234567.5')).toBe(true);
    expect(valuesEqual('12345678901234567.5', Number('12345678901234567.5'))).toBe(false);
    // A number beyond 2^53 is its shortest decimal: it meets that string, not its binary value.
    expect(valuesEqual('1234567890123450000', 1.23456789012345e18)).toBe(true);
    expect(valuesEqual('1234567890123449856', 1.23456789012345e18)).toBe(false);
    expect(valuesEqual(1234567890123450000n, 1.23456789012345e18)).toBe(true);
    expect(compareValues(1234567890123449856n, 1.23456789012345e18)).toBe(-1);
    const left = rel([{ id: '9007199254740993', a: 1 }, { id: 5, a: 2 }]);
    const right = rel([{ k: 5, b: 'x' }, { k: '9007199254740993', b: 'y' }]);
    expect(join(left, right, { type: 'inner', on: [['id', 'k']], rightName: 'r' }).rows.map((r) => r.b)).toEqual(['y', 'x']);
  });

  it('compares and sorts decimal strings as numbers, text as text', () => {
    expect(compareValues('10000000000000000.5', 9e15)).toBe(1);
    expect(compareValues('-10000000000000000.5', 1)).toBe(-1);
    // Against other text, a decimal string is text too: by code units, never UNKNOWN.
    expect(compareValues('10000000000000000.5', 'abc')).toBe(-1);
    expect(compareValues('99999999999999999', '5')).toBe(1);
    expect(compareValues('99999999999999999', 5)).toBe(1);
    expect(compareTotal('99999999999999999', '100000000000000000')).toBe(-1);
    expect(compareTotal('99999999999999999', '100000000000000000', true)).toBe(1);
    // A column with text in it is a text column: its decimal strings sort as text, after the numbers.
    const rows = rel([{ v: '100000000000000000.1' }, { v: 5 }, { v: '99999999999999999.9' }, { v: 'text' }, { v: 1e17 }]);
    expect(sort(rows, [{ column: 'v' }]).rows.map((r) => r.v)).toEqual([5, 1e17, '100000000000000000.1', '99999999999999999.9', 'text']);
    const codes = rel([{ v: '99999999999999999' }, { v: '5' }, { v: '100000000000000000' }, { v: 'B-7' }]);
    expect(sort(codes, [{ column: 'v' }]).rows.map((r) => r.v)).toEqual(['100000000000000000', '5', '99999999999999999', 'B-7']);
    expect(sort(codes, [{ column: 'v', desc: true }, { column: 'w' }]).rows.map((r) => r.v)).toEqual(['B-7', '99999999999999999', '5', '100000000000000000']);
    const extremes = aggregate(codes, undefined, [{ fn: 'min', column: 'v', as: 'lo' }, { fn: 'max', column: 'v', as: 'hi' }]).rows;
    expect(extremes).toEqual([{ lo: '100000000000000000', hi: 'B-7' }]);
    // Only decimal strings (and numbers): numbers, as a NUMERIC column sorts.
    const big = rel([{ v: '99999999999999999' }, { v: '100000000000000000' }]);
    expect(aggregate(big, undefined, [{ fn: 'min', column: 'v', as: 'lo' }]).rows).toEqual([{ lo: '99999999999999999' }]);
    // Without text in the column, the decimal comparator: same order, descending too, nulls last.
    const numeric = rel([{ v: '100000000000000000.1' }, { v: null }, { v: 5 }, { v: '99999999999999999.9' }, { v: 1e17 }, { v: 2n ** 60n }, { v: -1.5 }]);
    expect(sort(numeric, [{ column: 'v' }]).rows.map((r) => r.v)).toEqual([-1.5, 5, '99999999999999999.9', 1e17, '100000000000000000.1', 2n ** 60n, null]);
    expect(sort(numeric, [{ column: 'v', desc: true, nulls: 'last' }, { column: 'x' }]).rows.map((r) => r.v)).toEqual([2n ** 60n, '100000000000000000.1', 1e17, '99999999999999999.9', 5, -1.5, null]);
  });

  it('a text column is text in every group: min/max of a group holding only decimal strings order them as text, as PostgreSQL does', async () => {
    const rows: Row[] = [
      { g: 1, s: 'a' },
      { g: 2, s: '99999999999999999' },
      { g: 2, s: '100000000000000000' },
      { g: 3, s: '12345678901234567890' },
    ];
    const specs: AggregateSpec[] = [{ fn: 'min', column: 's', as: 'lo' }, { fn: 'max', column: 's', as: 'hi' }];
    const ours = aggregate(rel(rows), ['g'], specs).rows;
    expect(ours).toEqual([
      { g: 1, lo: 'a', hi: 'a' },
      { g: 2, lo: '100000000000000000', hi: '99999999999999999' },
      { g: 3, lo: '12345678901234567890', hi: '12345678901234567890' },
    ]);
    if (pg.skipReason) return;
    const client = new Client({ connectionString: pgUrl() });
    await client.connect();
    try {
      const values = rows.map((r) => `(${String(r.g)}, '${String(r.s)}')`).join(', ');
      const sql = `SELECT g, min(s COLLATE "C") AS lo, max(s COLLATE "C") AS hi FROM (VALUES ${values}) AS t(g, s) GROUP BY g ORDER BY g`;
      expect((await client.query(sql)).rows).toEqual(ours);
    } finally {
      await client.end();
    }
  });
});
