import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKey, cacheScopeOf, canonicalize } from '../../src/cache/index.js';

const key = (query: unknown, params: unknown[] = [], over: Partial<{ source: string; version: string; scope: string }> = {}): string | undefined =>
  cacheKey({ source: over.source ?? 'crm', version: over.version ?? 'v1', scope: over.scope ?? 'shared', calls: [{ query, params }] });

/** The same value with every object's keys in another order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const entries = Object.entries(value);
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!).reverse();
  return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
}

describe('cacheKey', () => {
  it('is never the key of the release before the key rules had a version (its entries in a shared store are not served)', () => {
    const query = { sql: 'SELECT * FROM t WHERE id IN (?)', params: [[7, '9007199254740993']] };
    // What the previous release computed for the same call: the same parts without the rules' version.
    const before = `shared:${createHash('sha256').update(canonicalize(['crm', 'v1', 'shared', [[query, []]]])!).digest('base64url')}`;
    expect(key(query)).toMatch(/^shared:/);
    expect(key(query)).not.toBe(before);
  });

  it('does not depend on the order of JSON keys', () => {
    const a = key({ sql: 'SELECT 1', params: [1], options: { a: 1, b: { c: 2, d: 3 } } });
    const b = key({ options: { b: { d: 3, c: 2 }, a: 1 }, params: [1], sql: 'SELECT 1' });
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('is the same for any key order of any JSON query (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (query, seed) => {
        expect(key(shuffleKeys(query, seed))).toBe(key(query));
      }),
    );
  });

  it('differs for every difference in a bound value, types included', () => {
    const values: unknown[] = [1, '1', 1n, 1.5, -0, 0, null, undefined, true, 'true', [1], [1, 1], { a: 1 }, { a: '1' }, Buffer.from([1]), new Uint8Array([1]), new Date(0), '1970-01-01T00:00:00.000Z', ''];
    const keys = values.map((v) => key({ sql: 'SELECT ?' }, [v]));
    expect(new Set(keys).size).toBe(values.length);
  });

  it('keys boxed primitives, ArrayBuffers and RegExps by what they hold', () => {
    // JSON (and so a driver binding an object) writes a boxed number as the number it holds:
    // new Number(1) and new Number(2) bind 1 and 2, so they must not share an entry.
    const values: unknown[] = [new Number(1), new Number(2), new String('a'), new String('b'), new Boolean(false), new Boolean(true), Object(1n), Object(2n), new Uint8Array([1]).buffer, new Uint8Array([2]).buffer, /a/, /b/, /a/g];
    const keys = values.map((v) => key({ sql: 'SELECT ?' }, [v]));
    expect(new Set(keys).size).toBe(values.length);
    expect(keys.every((k) => k !== undefined)).toBe(true);
    expect(key({ sql: 'SELECT ?' }, [new Number(1)])).toBe(key({ sql: 'SELECT ?' }, [new Number(1)]));
  });

  it('gives distinct values distinct keys (property)', () => {
    const scalar = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.bigInt(), fc.uint8Array().map((a) => Buffer.from(a)));
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 3 }));
    fc.assert(
      fc.property(value, value, (a, b) => {
        fc.pre(canonicalize(a) !== canonicalize(b));
        expect(key({ sql: 'SELECT ?' }, [a])).not.toBe(key({ sql: 'SELECT ?' }, [b]));
      }),
    );
  });

  it('separates sources, versions, scopes, queries and the split into calls', () => {
    const base = key({ table: 't' });
    expect(key({ table: 't' }, [], { source: 'shop' })).not.toBe(base);
    expect(key({ table: 't' }, [], { version: 'v2' })).not.toBe(base);
    expect(key({ table: 't' }, [], { scope: cacheScopeOf('principal', 'alice') })).not.toBe(base);
    expect(key({ table: 'u' })).not.toBe(base);
    const one = cacheKey({ source: 's', version: 'v', scope: 'shared', calls: [{ query: { ids: [1, 2] }, params: [] }] });
    const two = cacheKey({ source: 's', version: 'v', scope: 'shared', calls: [{ query: { ids: [1] }, params: [] }, { query: { ids: [2] }, params: [] }] });
    expect(one).not.toBe(two);
  });

  it('starts with its scope', () => {
    expect(key({ t: 1 }, [], { scope: cacheScopeOf('principal', 'alice') })).toMatch(/^principal:"alice":[A-Za-z0-9_-]{43}$/);
    expect(key({ t: 1 }, [], { scope: cacheScopeOf(undefined, undefined) })).toMatch(/^anonymous:/);
    expect(key({ t: 1 }, [], { scope: cacheScopeOf('shared', 'alice') })).toMatch(/^shared:/);
  });

  it('is undefined (bypass) for values with no stable form', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(key({ t: 1 }, [cyclic])).toBeUndefined();
    expect(key({ t: 1 }, [() => 1])).toBeUndefined();
    expect(key({ t: 1 }, [Symbol('x')])).toBeUndefined();
    // A shared (acyclic) reference is fine.
    const shared = { a: 1 };
    expect(key({ t: 1 }, [[shared, shared]])).toBeDefined();
  });

  it('bypasses a class instance whose state it cannot see, and keys one by its fields', () => {
    class Token {
      readonly #secret: string;
      constructor(secret: string) {
        this.#secret = secret;
      }
      reveal(): string {
        return this.#secret;
      }
    }
    // Two tokens holding different values would otherwise share the key `OToken:{}`.
    expect(new Token('a').reveal()).not.toBe(new Token('b').reveal());
    expect(key({ t: 1 }, [new Token('a')])).toBeUndefined();
    expect(canonicalize({ claims: new Token('a') })).toBeUndefined();
    class Point {
      constructor(readonly x: number) {}
    }
    expect(key({ t: 1 }, [new Point(1)])).toBeDefined();
    expect(key({ t: 1 }, [new Point(1)])).not.toBe(key({ t: 1 }, [new Point(2)]));
  });
});

describe('cacheScopeOf', () => {
  it('is principal-scoped by default and shared only when the source says so', () => {
    expect(cacheScopeOf(undefined, 'alice')).toBe('principal:"alice"');
    expect(cacheScopeOf('principal', 'alice')).toBe('principal:"alice"');
    expect(cacheScopeOf('shared', 'alice')).toBe('shared');
    expect(cacheScopeOf('shared', undefined)).toBe('shared');
    expect(cacheScopeOf('principal', undefined)).toBe('anonymous');
  });

  it('cannot be forged by a crafted principal id', () => {
    const ids = ['anonymous', 'shared', '', '"', 'a":"b', 'principal:"x"'];
    const scopes = [...ids.map((id) => cacheScopeOf('principal', id)), cacheScopeOf('principal', undefined), cacheScopeOf('shared', undefined)];
    expect(new Set(scopes).size).toBe(scopes.length);
  });
});
