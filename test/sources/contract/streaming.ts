import { expect } from 'vitest';
import type { Row } from '../../../src/data/row.js';
import { eventually } from '../../support/servers.js';
import { collect, context, isBatches, marker, sleep, using, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

const HUGE = 10_000_000;

/** With `ctx.stream`: batches as they come, held back while the consumer waits, stopped when it leaves. */
export function streamingCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  if (!subject.streams) return [];
  const cases: ContractCase[] = [
    {
      name: 'streaming: rows arrive in several batches, together equal to the whole result',
      run: () =>
        using(subject.create(), async (source) => {
          const call = subject.rows(2500, marker('all'));
          const result = source.execute(call.query, context(call, { stream: true }));
          expect(isBatches(result)).toBe(true);
          if (!isBatches(result)) return;
          const batches: Row[][] = [];
          for await (const batch of result) batches.push(batch);
          expect(batches.length).toBeGreaterThan(1);
          const streamed = batches.flat();
          expect(streamed.map((r) => r.n)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
          expect(streamed).toEqual(await collect(source, call));
        }),
    },
  ];
  const open = subject.openOnServer?.bind(subject);
  const served = subject.requestsServed?.bind(subject);
  cases.push({
    name:
      open !== undefined || served !== undefined
        ? 'streaming: back-pressure holds the server while the consumer waits; leaving early stops its work'
        : 'streaming: leaving after the first batch ends the stream early',
    run: () =>
      using(subject.create(), async (source) => {
        const tag = marker('held');
        const call = subject.rows(HUGE, tag);
        const result = source.execute(call.query, context(call, { stream: true }));
        if (!isBatches(result)) throw new Error('a streaming source must return batches when ctx.stream is true');
        const iterator = result[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.done).toBe(false);
        expect((first.value as Row[]).length).toBeLessThan(HUGE);
        const servedBefore = served?.(tag);
        await sleep(400);
        // A paging source has nothing open between requests: it must just not fetch ahead.
        if (served !== undefined) expect(served(tag)).toBe(servedBefore);
        else if (open !== undefined) expect(await open(tag)).toBe(1); // the statement is still there, waiting for us
        const second = await iterator.next();
        expect(second.done).toBe(false);
        await iterator.return?.();
        if (open !== undefined) expect(await eventually(async () => (await open(tag)) === 0, 3000)).toBe(true);
        if (served !== undefined) {
          const after = served(tag);
          await sleep(300);
          expect(served(tag)).toBe(after);
        }
        // The source is fine afterwards.
        expect(await collect(source, subject.numbersIn([3]))).toEqual([{ n: 3 }]);
      }),
  });
  return cases;
}
