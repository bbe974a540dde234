import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/index.js';
import { decodeRows, encodeRows, parseRemoteFailure, toRemoteFailure } from '../../src/remote/codec.js';

describe('remote codec', () => {
  it('splits large results into gzipped chunks no bigger than the limit, and restores them exactly', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ i, big: BigInt(i) ** 3n, at: new Date(i * 1000), bin: Buffer.from(String(i)), text: `row ${i} ${'x'.repeat(i % 50)}`, none: null }));
    const chunks = encodeRows(rows, 16 * 1024);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(16 * 1024);
    expect(decodeRows(chunks)).toEqual(rows);
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
