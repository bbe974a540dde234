import { expect } from 'vitest';
import { estimateRowsBytes } from '../../../src/data/bytes.js';
import { DEFAULT_FRAGMENT_MAX_BYTES } from '../../../src/data/limits.js';
import { TributaryError } from '../../../src/errors.js';
import { eventually } from '../../support/servers.js';
import { collect, marker, rejection, using, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

function expectLimit(error: unknown, fragmentId: string, bound: string): void {
  expect(error).toBeInstanceOf(TributaryError);
  expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', retryable: false });
  expect((error as TributaryError).message).toContain(`fragment ${fragmentId}`);
  expect((error as TributaryError).message).toContain(bound);
  expect((error as TributaryError).issues[0]?.path).toBe(`fragments.${fragmentId}`);
}

/** maxRows / maxBytes, the call's and the source's (the smaller wins); a passed limit stops the server's work. */
export function limitCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const cases: ContractCase[] = [
    {
      name: 'limits: exactly maxRows rows pass, one more fails LIMIT_EXCEEDED; the smaller of call and source wins',
      run: async () => {
        const call = subject.rows(10, marker('rows'));
        await using(subject.create(), async (source) => {
          expect(await collect(source, call, { limits: { maxRows: 10 } })).toHaveLength(10);
          expectLimit(await rejection(collect(source, call, { fragmentId: 'f', limits: { maxRows: 9 } })), 'f', 'maxRows=9');
          if (subject.streams) expectLimit(await rejection(collect(source, call, { fragmentId: 's', stream: true, limits: { maxRows: 9 } })), 's', 'maxRows=9');
        });
        await using(subject.create({ maxRows: 9 }), async (source) => {
          expectLimit(await rejection(collect(source, call, { fragmentId: 'own' })), 'own', 'maxRows=9');
          expectLimit(await rejection(collect(source, call, { fragmentId: 'both', limits: { maxRows: 20 } })), 'both', 'maxRows=9');
        });
      },
    },
    {
      name: `limits: maxBytes bounds ${subject.bytes === 'estimate' ? 'the rows by their estimate (estimateRowBytes)' : 'the bytes read'}`,
      run: () =>
        using(subject.create(), async (source) => {
          const call = subject.rows(10, marker('bytes'));
          const rows = await collect(source, call);
          // Wire bytes are the response's size, at least a few bytes per row; the estimate is exact.
          const fits = subject.bytes === 'estimate' ? estimateRowsBytes(rows) : 1_000_000;
          const over = subject.bytes === 'estimate' ? fits - 1 : 10;
          expect(await collect(source, call, { limits: { maxBytes: fits } })).toEqual(rows);
          expectLimit(await rejection(collect(source, call, { fragmentId: 'wide', limits: { maxBytes: over } })), 'wide', `maxBytes=${over}`);
        }),
    },
  ];
  const open = subject.openOnServer?.bind(subject);
  const served = subject.requestsServed?.bind(subject);
  // A server's huge result (an in-memory table holds only what the app put there).
  if (subject.bytes === 'estimate' && subject.streams) {
    cases.push({
      name: 'limits: with no bound given by anyone, a call stops at the default 64 MiB (estimated), its work stopped on the server; maxBytes: Infinity lifts it',
      run: async () => {
        await using(subject.create(), async (source) => {
          const tag = marker('default');
          const error = await rejection(collect(source, subject.rows(1_000_000_000, tag), { fragmentId: 'big' }));
          expectLimit(error, 'big', `maxBytes=${DEFAULT_FRAGMENT_MAX_BYTES}`);
          if (open !== undefined) expect(await eventually(async () => (await open(tag)) === 0, 3000)).toBe(true);
        });
        // 400,000 rows of { n, s: 40 × 'x' } are ~74 MB by the estimate: past the default, read whole once lifted.
        await using(subject.create({ maxBytes: Infinity }), async (source) => {
          const rows = await collect(source, subject.rows(400_000, marker('lifted')), { fragmentId: 'lifted' });
          expect(rows).toHaveLength(400_000);
          expect(estimateRowsBytes(rows)).toBeGreaterThan(DEFAULT_FRAGMENT_MAX_BYTES);
        });
      },
    });
  }
  if (open === undefined && served === undefined) return cases;
  cases.push({
    name: 'limits: passing maxRows on a huge result fails at once and stops the work on the server',
    run: () =>
      using(subject.create(), async (source) => {
        const tag = marker('huge');
        // A billion rows: a connector that read on past the limit would not finish within the
        // test's own timeout, so the rejection arriving at all shows it stopped at once.
        const error = await rejection(collect(source, subject.rows(1_000_000_000, tag), { fragmentId: 'huge', limits: { maxRows: 150 } }));
        expectLimit(error, 'huge', 'maxRows=150');
        if (open !== undefined) expect(await eventually(async () => (await open(tag)) === 0, 3000)).toBe(true);
        if (served !== undefined) expect(served(tag)).toBeLessThanOrEqual(3);
      }),
  });
  return cases;
}
