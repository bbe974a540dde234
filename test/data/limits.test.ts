import { describe, expect, it } from 'vitest';
import { estimateRowBytes } from '../../src/data/bytes.js';
import { createLimitCounter, limitExceeded, tighter } from '../../src/data/limits.js';
import { TributaryError } from '../../src/errors.js';

const thrown = (f: () => void): TributaryError => {
  try {
    f();
  } catch (error) {
    if (error instanceof TributaryError) return error;
    throw error;
  }
  throw new Error('expected LIMIT_EXCEEDED');
};

describe('limits', () => {
  it('takes the tighter of each bound', () => {
    expect(tighter({ maxRows: 5 }, { maxRows: 3, maxBytes: 100 }, undefined)).toEqual({ maxRows: 3, maxBytes: 100 });
    expect(tighter()).toEqual({ maxRows: undefined, maxBytes: undefined });
  });

  it('lets exactly maxRows rows through and fails the next, naming fragment and source', () => {
    const counter = createLimitCounter({ maxRows: 2 }, { fragmentId: 'f', source: 'shop' });
    counter.add({ a: 1 });
    counter.add({ a: 2 });
    const error = thrown(() => counter.add({ a: 3 }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('fragment f on source shop: more than maxRows=2 rows');
    expect(error.issues).toEqual([{ path: 'fragments.f', message: error.message }]);
  });

  it('bounds rows by their estimated bytes', () => {
    const row = { s: 'x'.repeat(100) };
    const size = estimateRowBytes(row);
    const counter = createLimitCounter({ maxBytes: 2 * size }, {});
    counter.add(row);
    counter.add(row);
    expect(counter.bytes).toBe(2 * size);
    expect(thrown(() => counter.add(row)).message).toBe(`a fragment: more than maxBytes=${2 * size} bytes (estimated)`);
  });

  it('counts wire bytes and declared lengths apart from rows', () => {
    const counter = createLimitCounter({ maxRows: 10, maxBytes: 100 }, { fragmentId: 'h' });
    counter.addCount(10);
    counter.addBytes(60);
    counter.checkBytes(40);
    expect(thrown(() => counter.checkBytes(41)).message).toBe('fragment h: more than maxBytes=100 bytes (declared)');
    expect(counter.bytes).toBe(60);
    expect(thrown(() => counter.addBytes(41)).code).toBe('LIMIT_EXCEEDED');
    expect(thrown(() => counter.addCount(1)).message).toBe('fragment h: more than maxRows=10 rows');
  });

  it('admits rows for an event handler: the error is returned, not thrown', () => {
    const counter = createLimitCounter({ maxRows: 1 }, { fragmentId: 'e' });
    expect(counter.admit({ a: 1 })).toBeUndefined();
    const over = counter.admit({ a: 2 });
    expect(over).toBeInstanceOf(TributaryError);
    expect(over?.message).toBe('fragment e: more than maxRows=1 rows');
  });

  it('builds the same error for any other limit (e.g. pages)', () => {
    expect(limitExceeded({ fragmentId: 'p' }, 'more than maxPages=3 pages').message).toBe('fragment p: more than maxPages=3 pages');
  });
});
