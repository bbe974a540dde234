import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { ownCopy } from '../../src/plan/own-copy.js';

/** Every plain object and array reachable from `value` (the containers a copy must not share). */
function containers(value: unknown, out = new Set<object>()): Set<object> {
  if (typeof value !== 'object' || value === null) return out;
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return out;
  out.add(value);
  for (const child of Object.values(value)) containers(child, out);
  return out;
}

/** The definition of "the same plan value": same prototype, same own keys in the same order, same leaves. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (ArrayBuffer.isView(a)) return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from((b as Uint8Array).buffer, (b as Uint8Array).byteOffset, (b as Uint8Array).byteLength)) === 0;
  const keys = Object.keys(a);
  if (keys.join('\u0000') !== Object.keys(b).join('\u0000')) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

describe('ownCopy', () => {
  it('equals its input (key order, prototypes, own __proto__ keys) and shares none of its objects, arrays, dates or bytes', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const values = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        json,
        fc.date({ noInvalidDate: true }),
        fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
        fc.uint8Array({ maxLength: 4 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'b', 'a', '1'), fc.string({ maxLength: 3 })), tie('value'), { maxKeys: 4, noNullPrototype: false }),
      ),
    })).value;
    fc.assert(
      fc.property(values, (input) => {
        const copy = ownCopy(input);
        expect(same(copy, input)).toBe(true);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(input));
        const mine = containers(copy);
        for (const theirs of containers(input)) expect(mine.has(theirs)).toBe(false);
        if (typeof input === 'object' && input !== null && !(input instanceof Date) && !ArrayBuffer.isView(input) && Object.keys(input).length > 0) expect(copy).not.toBe(input);
      }),
      { numRuns: 500 },
    );
  });

  it('copies dates and bytes, keeps other values (a Decimal) as they are, and never sets a prototype', () => {
    const at = new Date(0);
    const bytes = Buffer.from([1, 2]);
    const decimal = new Decimal('1.10');
    const input = JSON.parse('{"__proto__": {"polluted": true}, "q": [1]}') as Record<string, unknown>;
    Object.assign(input, { at, bytes, decimal });
    const copy = ownCopy(input);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'q', 'at', 'bytes', 'decimal']);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    at.setTime(5);
    bytes[0] = 9;
    expect(copy.at).toEqual(new Date(0));
    expect(copy.bytes).toEqual(Buffer.from([1, 2]));
    expect(Buffer.isBuffer(copy.bytes)).toBe(true);
    expect(copy.decimal).toBe(decimal);
  });

  it('copies a deeply nested plan without overflowing the stack', () => {
    let deep: unknown = [1];
    for (let i = 0; i < 200_000; i++) deep = { next: deep };
    let copy = ownCopy(deep) as { next?: unknown };
    let depth = 0;
    while (copy.next !== undefined) {
      copy = copy.next as { next?: unknown };
      depth++;
    }
    expect(depth).toBe(200_000);
  });
});
