import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/index.js';
import { decodePayload, decodeRows, encodePayload, encodeRows, parseRemoteFailure, toRemoteFailure } from '../../src/remote/codec.js';

describe('remote codec', () => {
  it('splits large results into gzipped chunks no bigger than the limit, and restores them exactly', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ i, big: BigInt(i) ** 3n, at: new Date(i * 1000), bin: Buffer.from(String(i)), text: `row ${i} ${'x'.repeat(i % 50)}`, none: null }));
    const chunks = encodeRows(rows, 16 * 1024);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(16 * 1024);
    expect(decodeRows(chunks)).toEqual(rows);
  });

  it('refuses a payload V8 cannot serialize at the value\'s path, naming its kind and never its content', () => {
    const cases: [unknown[], string, string][] = [
      [[1, { deep: [0, () => 'secret-fn'] }], 'params[1].deep[1]', 'a function'],
      [[new WeakMap()], 'params[0]', 'an object (WeakMap)'],
      [[{ later: Promise.resolve('secret-promise') }], 'params[0].later', 'an object (Promise)'],
      [[new Map([['k', Symbol('secret-sym')]])], 'params[0]', 'an object (Map)'],
    ];
    for (const [params, path, kind] of cases) {
      let caught: unknown;
      try {
        encodePayload({ query: { table: 't' }, params });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TributaryError);
      const error = caught as TributaryError;
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', retryable: false, issues: [{ path, message: expect.stringContaining(kind) as string }] });
      expect(error.message).not.toMatch(/secret/);
    }
    // A cycle, a class instance (its methods stay on its prototype), bigint and bytes serialize as before.
    const cyclic: Record<string, unknown> = { n: 1n, bin: Buffer.from('x') };
    cyclic.self = cyclic;
    class Point {
      constructor(readonly x: number) {}
      norm(): number {
        return Math.abs(this.x);
      }
    }
    expect(decodePayload(encodePayload({ query: {}, params: [cyclic, new Point(3)] })).params).toEqual([cyclic, { x: 3 }]);
  });

  it('stores nothing for an empty result', () => {
    expect(encodeRows([], 1024)).toEqual([]);
    expect(decodeRows([])).toEqual([]);
  });

  it('carries an error code, classification and driver code through the failure reason', () => {
    const error = new TributaryError('SOURCE_UNAVAILABLE', 'connection reset', { retryable: true, driverCode: '08006' });
    const reason = JSON.stringify(toRemoteFailure(error, undefined, 'w1'));
    expect(parseRemoteFailure(reason)).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, driverCode: '08006', worker: 'w1', message: 'connection reset' });
    const plain = toRemoteFailure(Object.assign(new Error('syntax error'), { code: '42601' }), undefined, 'w1');
    expect(plain).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, driverCode: '42601' });
    expect(toRemoteFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), undefined, 'w1')).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    expect(parseRemoteFailure('job stalled more than allowable limit')).toBeUndefined();
  });
});
