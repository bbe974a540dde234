import { describe, expect, it } from 'vitest';
import { compareTotal, compareValues } from '../../src/data/compare.js';
import { groupKey, joinKey, valueKey, valuesEqual } from '../../src/data/values.js';

describe('valueKey / valuesEqual', () => {
  it('equates numbers and bigints by numeric value', () => {
    expect(valuesEqual(1, 1n)).toBe(true);
    expect(valuesEqual(1.0, 1n)).toBe(true);
    // A number beyond 2^53 is its shortest decimal, 1152921504606847000, not its binary value.
    expect(valuesEqual(2 ** 60, 1152921504606847000n)).toBe(true);
    expect(valuesEqual(2 ** 60, 2n ** 60n)).toBe(false);
    expect(valuesEqual(1.5, 1n)).toBe(false);
    expect(valuesEqual(0, -0)).toBe(true);
    expect(valuesEqual(Number.NaN, Number.NaN)).toBe(true);
  });

  it('never equates a string with a number', () => {
    expect(valuesEqual('1', 1)).toBe(false);
    expect(valuesEqual('1', 1n)).toBe(false);
    expect(valuesEqual('true', true)).toBe(false);
  });

  it('compares bytes, Dates and JSON values structurally', () => {
    expect(valuesEqual(Buffer.from([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(valuesEqual(Buffer.from([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(valuesEqual(new Date(5), new Date(5))).toBe(true);
    expect(valuesEqual(new Date(5), 5)).toBe(false);
    expect(valuesEqual({ a: 1, b: [2] }, { b: [2], a: 1 })).toBe(true);
  });

  it('treats null as unequal to everything, itself included', () => {
    expect(valuesEqual(null, null)).toBe(false);
    expect(valuesEqual(undefined, null)).toBe(false);
    expect(valueKey(null)).toBe(valueKey(undefined));
  });

  it('builds composite keys that cannot collide across column boundaries', () => {
    expect(groupKey({ a: 'x1:', b: 'y' }, ['a', 'b'])).not.toBe(groupKey({ a: 'x', b: '1:y' }, ['a', 'b']));
    expect(joinKey({ a: 1, b: null }, ['a', 'b'])).toBeUndefined();
    expect(joinKey({ a: 1 }, ['a', 'missing'])).toBeUndefined();
    expect(groupKey({ a: null }, ['a'])).toBe(groupKey({}, ['a']));
  });
});

describe('compareValues / compareTotal', () => {
  it('compares numbers with bigints exactly and strings by code units', () => {
    expect(compareValues(1, 2n)).toBe(-1);
    expect(compareValues(2n ** 64n, 2 ** 64 - 4096)).toBe(1);
    expect(compareValues('B', 'a')).toBe(-1);
    expect(compareValues(false, true)).toBe(-1);
  });

  it('answers UNKNOWN for nulls and mismatched types', () => {
    expect(compareValues(null, 1)).toBeUndefined();
    expect(compareValues('5', 5)).toBeUndefined();
    expect(compareValues(true, 1)).toBeUndefined();
  });

  it('ranks types for a total order: boolean < number < string < Date < bytes < others', () => {
    const values = [{ a: 1 }, Buffer.from([0]), new Date(0), 'a', 1, true];
    expect([...values].sort(compareTotal)).toEqual([true, 1, 'a', new Date(0), Buffer.from([0]), { a: 1 }]);
    expect(compareTotal(Number.NaN, Infinity)).toBe(1);
  });
});
