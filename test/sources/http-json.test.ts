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
