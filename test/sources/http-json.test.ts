import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/data/json.js';

describe('an HTTP body parsed as JSON (values policy)', () => {
  it('keeps integers beyond ±2^53 as their exact decimal strings; safe integers and fractions are numbers', () => {
    const body = '[{"id": 9007199254740993, "neg": -12345678901234567890, "safe": 9007199254740991, "two53": 9007199254740992, "f": 0.30000000000000004, "e": 1e21, "s": "12345678901234567890", "n": [18446744073709551615, 1]}]';
    expect(parseJsonBody(body)).toEqual([
      { id: '9007199254740993', neg: '-12345678901234567890', safe: 9007199254740991, two53: '9007199254740992', f: 0.30000000000000004, e: 1e21, s: '12345678901234567890', n: ['18446744073709551615', 1] },
    ]);
  });

  it('keeps a number past a double\'s range, or below its normal range, as the exact decimal a NUMERIC gives it, not Infinity or 0', () => {
    const zeros = (n: number): string => '0'.repeat(n);
    const body = `{"big": 1e400, "neg": -1e400, "tiny": 1e-400, "negTiny": -2.5E-400, "digits": 1${zeros(400)}, "point": 0.${zeros(399)}1, "two": 1.5e-99, "e": 1e308, "sub": 1e-310, "subInexact": 1.2345678e-320, "zero": 0e-500, "ok": 1e-5}`;
    expect(parseJsonBody(body)).toEqual({
      big: `1${zeros(400)}`,
      neg: `-1${zeros(400)}`,
      tiny: `0.${zeros(399)}1`,
      negTiny: `-0.${zeros(399)}25`,
      digits: `1${zeros(400)}`,
      point: `0.${zeros(399)}1`,
      two: 1.5e-99,
      e: 1e308,
      // A subnormal double that still prints the value exactly is that number; one that lost digits is the decimal.
      sub: 1e-310,
      subInexact: `0.${zeros(319)}12345678`,
      zero: 0,
      ok: 1e-5,
    });
    // Inside arrays too, and with a 16-digit run elsewhere in the body.
    expect(parseJsonBody('[1e400, 12345678901234567890, 0.5]')).toEqual([`1${zeros(400)}`, '12345678901234567890', 0.5]);
  });

  it('refuses a number past NUMERIC\'s range (131,072 digits before the point, 16,383 after) as SOURCE_BAD_RESPONSE', () => {
    for (const text of ['1e131072', '-1e131072', '1e-16384', '1e99999999999999999999']) {
      expect(() => parseJsonBody(`{"v": ${text}}`)).toThrow(expect.objectContaining({ code: 'SOURCE_BAD_RESPONSE', issues: [expect.objectContaining({ path: 'body' })] }));
    }
    expect(parseJsonBody('[1e131071]')).toEqual([`1${'0'.repeat(131_071)}`]);
    expect(parseJsonBody('[1e-16383]')).toEqual([`0.${'0'.repeat(16_382)}1`]);
  });

  it('is JSON.parse for every other body, and agrees with it wherever no integer is unsafe', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const unsafe = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'));
        fc.pre(!unsafe);
        expect(parseJsonBody(text)).toEqual(JSON.parse(text));
      }),
    );
  });

  it('on the exact path too: __proto__ stays an own key, the last of duplicate keys wins, bad JSON is a SyntaxError', () => {
    const parsed = parseJsonBody('[{"__proto__": {"polluted": true}, "id": 1, "id": 12345678901234567890}]') as Record<string, unknown>[];
    expect(Object.getPrototypeOf(parsed[0])).toBe(Object.prototype);
    expect(Object.hasOwn(parsed[0]!, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed[0]!.id).toBe('12345678901234567890');
    expect(() => parseJsonBody('[{"id": 12345678901234567890,]')).toThrow(SyntaxError);
  });
});
