import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Row } from '../../src/data/row.js';
import { TributaryError } from '../../src/errors.js';
import type { SourceExecutor } from '../../src/sources/index.js';
import { contractCases, type Call, type ContractSubject } from './contract.js';

/**
 * The contract can fail: a stand-in connector that breaks it on purpose (raw bigints, no
 * limits, no abort, every error retryable, still answering after close) fails exactly the
 * cases it breaks, while the cases it keeps pass. The cases run here as plain functions.
 */

type Query = { what: 'numbers'; list: unknown[] } | { what: 'rows'; count: number } | { what: 'value'; value: unknown } | { what: 'missing' };

function brokenSource(): SourceExecutor<Query> {
  return {
    kind: 'broken',
    querySchema: z.custom<Query>(),
    // Ignores ctx.signal and ctx.limits, and keeps answering after close().
    execute(query): Promise<Row[]> {
      switch (query.what) {
        case 'numbers':
          return Promise.resolve(Array.from({ length: 100 }, (_, i) => ({ n: i + 1 })).filter((r) => query.list.includes(r.n)));
        case 'rows':
          return Promise.resolve(Array.from({ length: query.count }, (_, i) => ({ n: i + 1, s: 'x'.repeat(40) })));
        case 'value':
          return Promise.resolve([{ v: query.value }]);
        case 'missing':
          return Promise.reject(new TributaryError('FRAGMENT_FAILED', 'no such table', { retryable: true }));
      }
    },
    isRetryable: () => true, // calls every error worth another try
    close: () => Promise.resolve(),
  };
}

const call = (query: Query): Call<Query> => ({ query, params: [] });

const broken: ContractSubject<Query> = {
  name: 'broken',
  create: brokenSource,
  value: (type) =>
    type === 'integer' ? call({ what: 'value', value: 42 }) : type === 'big integer' ? call({ what: 'value', value: 9007199254740993n }) : undefined,
  rows: (count) => call({ what: 'rows', count }),
  numbersIn: (list) => call({ what: 'numbers', list }),
  invalid: [call({ what: 'missing' })],
  streams: false,
  bytes: 'estimate',
};

describe('the connector contract', () => {
  it('fails a connector that breaks it, case by case, and passes the cases it keeps', async () => {
    const outcomes = new Map<string, boolean>();
    for (const c of contractCases(broken)) {
      outcomes.set(
        c.name,
        await c.run().then(
          () => true,
          () => false,
        ),
      );
    }
    const failed = [...outcomes].filter(([, ok]) => !ok).map(([name]) => name);
    expect(failed.sort()).toEqual(
      [
        "values: big integer → '9007199254740993'",
        'cancellation: an already aborted signal rejects at once with its reason',
        'errors: a wrong query fails FRAGMENT_FAILED, not retryable',
        'limits: exactly maxRows rows pass, one more fails LIMIT_EXCEEDED; the smaller of call and source wins',
        'limits: maxBytes bounds the rows by their estimate (estimateRowBytes)',
        'closing: close() is idempotent and refuses calls afterwards',
      ].sort(),
    );
    expect(outcomes.get('values: integer → 42')).toBe(true);
    expect([...outcomes.keys()].filter((name) => name.startsWith('bound lists')).every((name) => outcomes.get(name))).toBe(true);
  });
});
