import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, defaultIsRetryable, FragmentError, memorySource, TributaryError, type SourceExecutor } from '../../src/index.js';
import { classifyError } from '../../src/execution/classify.js';

/**
 * Whatever a source throws or rejects with, the fragment fails cleanly: a FragmentError in
 * the result, the fragment reported as failed, no unhandled rejection, no run left hanging.
 */

const throwing = (what: string) => () => {
  throw new Error(`${what} getter`);
};

function loop(): Error {
  const a = new Error('first of a loop');
  const b = new Error('second of a loop');
  Object.assign(a, { cause: b });
  Object.assign(b, { cause: a });
  return a;
}

/** Each hostile value, and what the fragment's message must end with. */
const hostile: [name: string, make: () => unknown, message: string][] = [
  ['an Error whose code getter throws', () => Object.defineProperty(new Error('boom'), 'code', { get: throwing('code') }), 'boom'],
  ['a plain object whose code getter throws', () => ({ get code(): never { return throwing('code')(); } }), '[object Object]'],
  ['an Error whose errno getter throws', () => Object.defineProperty(new Error('no errno'), 'errno', { get: throwing('errno') }), 'no errno'],
  ['an Error whose retryAfterMs getter throws', () => Object.defineProperty(new Error('no wait'), 'retryAfterMs', { get: throwing('retryAfterMs') }), 'no wait'],
  ['an Error whose message getter throws', () => Object.defineProperty(new Error('hidden'), 'message', { get: throwing('message') }), 'a thrown object that cannot be printed'],
  ['a Proxy whose every trap throws', () => new Proxy({}, { get: throwing('proxy'), getPrototypeOf: throwing('prototype'), has: throwing('has') }), 'a thrown object that cannot be printed'],
  ['a Proxy of an Error whose get trap throws', () => new Proxy(new Error('wrapped'), { get: throwing('proxy') }), 'a thrown object that cannot be printed'],
  ['a Proxy of a TributaryError whose get trap throws', () => new Proxy(new TributaryError('TIMEOUT', 'wrapped'), { get: throwing('proxy') }), 'a thrown object that cannot be printed'],
  ['an object without a prototype', () => Object.create(null) as object, 'a thrown object that cannot be printed'],
  ['an object whose toString throws', () => ({ toString: throwing('toString') }), 'a thrown object that cannot be printed'],
  ['null', () => null, 'null'],
  ['undefined', () => undefined, 'undefined'],
  ['a string', () => 'just a string', 'just a string'],
  ['a symbol', () => Symbol('odd'), 'Symbol(odd)'],
  ['a frozen Error', () => Object.freeze(new Error('frozen')), 'frozen'],
  ['a frozen plain object with a message', () => Object.freeze({ message: 'frozen plain' }), 'frozen plain'],
  ['an Error whose cause chain loops', loop, 'first of a loop'],
];

function hostileSource(make: () => unknown, how: 'throw' | 'reject'): SourceExecutor<Record<string, never>> {
  return {
    kind: 'hostile',
    querySchema: z.strictObject({}) as never,
    execute() {
      if (how === 'throw') throw make();
      return Promise.reject(make());
    },
  };
}

describe('a source that throws something hostile', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  for (const how of ['throw', 'reject'] as const) {
    for (const [name, make, message] of hostile) {
      it(`${how}s ${name}: the fragment fails with a FragmentError, its sibling still answers`, async () => {
        const executor = createExecutor({
          sources: { bad: hostileSource(make, how), good: memorySource({ tables: { t: [{ a: 1 }] } }) },
          retry: { attempts: 1 },
          cache: false,
        });
        try {
          const result = await executor.execute({
            errorPolicy: 'partial',
            fragments: [
              { id: 'hostile', source: 'bad', query: {} },
              { id: 'fine', source: 'good', query: { table: 't' } },
            ],
            merge: { op: 'union', inputs: ['hostile', 'fine'] },
          });
          // Let any stray rejection surface before looking.
          await new Promise((resolve) => setImmediate(resolve));
          expect(unhandled).toEqual([]);
          expect(result.status).toBe('partial');
          expect(result.rows).toEqual([{ a: 1 }]);
          expect(result.fragments.hostile!.status).toBe('failed');
          expect(result.fragments.fine!.status).toBe('succeeded');
          expect(result.completeness.fragments.hostile).toMatchObject({ status: 'failed', reason: 'failed', rowsMayBeMissing: true });
          expect(result.errors).toHaveLength(1);
          const error = result.errors[0] as FragmentError;
          expect(error).toBeInstanceOf(FragmentError);
          expect(error).toMatchObject({ fragmentId: 'hostile', source: 'bad', attempt: 1, retryable: false });
          expect(error.message).toBe(`fragment "hostile" on source "bad" failed (attempt 1): ${message}`);
        } finally {
          await executor.close();
        }
      });
    }
  }

  it('fails the query under fail-fast with the FragmentError, no unhandled rejection', async () => {
    const executor = createExecutor({ sources: { bad: hostileSource(hostile[0]![1], 'reject') }, retry: { attempts: 1 }, cache: false });
    try {
      const result = await executor.execute({ fragments: [{ id: 'hostile', source: 'bad', query: {} }] });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toBeInstanceOf(FragmentError);
      expect(result.errors[0]).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'hostile' });
    } finally {
      await executor.close();
    }
  });
});

describe('classifyError reads what it can and never throws', () => {
  it('keeps a readable errno when the code getter throws, and the code when the errno getter does', () => {
    const errno = Object.defineProperty(Object.assign(new Error('e'), { errno: 1213 }), 'code', { get: throwing('code') });
    expect(classifyError(errno, undefined)).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, message: 'e', driverCode: '1213' });
    const code = Object.defineProperty(Object.assign(new Error('c'), { code: 'ECONNRESET' }), 'errno', { get: throwing('errno') });
    expect(classifyError(code, undefined)).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true, driverCode: 'ECONNRESET' });
  });

  it('keeps the code of a TributaryError that reads normally, and ignores one that cannot be read', () => {
    expect(classifyError(new TributaryError('TIMEOUT', 'slow'), undefined)).toMatchObject({ code: 'TIMEOUT', retryable: true, message: 'slow' });
    const unreadable = new Proxy(new TributaryError('TIMEOUT', 'slow'), { get: throwing('proxy') });
    expect(classifyError(unreadable, undefined)).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
  });

  it('treats a source whose isRetryable throws as not retryable', () => {
    const source = { isRetryable: throwing('isRetryable') } as unknown as SourceExecutor;
    expect(classifyError(new Error('x'), source)).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
  });
});

describe('defaultIsRetryable on odd values', () => {
  it('follows a cause chain that loops to an end, and reads a retryable flag found on it', () => {
    expect(defaultIsRetryable(loop())).toBe(false);
    const a = new Error('a');
    const b = Object.assign(new Error('b'), { cause: a, retryable: true });
    Object.assign(a, { cause: b });
    expect(defaultIsRetryable(a)).toBe(true);
  });

  it('answers false when reading the error throws', () => {
    expect(defaultIsRetryable({ get retryable(): never { return throwing('retryable')(); } })).toBe(false);
    expect(defaultIsRetryable(new Proxy({}, { get: throwing('proxy') }))).toBe(false);
  });
});
