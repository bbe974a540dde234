import { expect } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { classifyError } from '../../../src/execution/classify.js';
import type { SourceExecutor } from '../../../src/sources/index.js';
import { collect, rejection, using, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

/** The connector's verdict, and the engine's (which retries on it), agree with the expectation. */
function expectClassified(error: unknown, source: SourceExecutor<unknown>, code: string, retryable: boolean): void {
  expect(error).toBeInstanceOf(TributaryError);
  expect(error).toMatchObject({ code, retryable });
  if (source.isRetryable !== undefined) expect(source.isRetryable(error)).toBe(retryable);
  expect(classifyError(error, source)).toMatchObject({ code, retryable });
}

/** Wrong queries are not worth a retry; a server that is not there is. */
export function errorCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const cases: ContractCase[] = [
    {
      name: 'errors: a wrong query fails FRAGMENT_FAILED, not retryable',
      run: () =>
        using(subject.create(), async (source) => {
          expect(subject.invalid.length).toBeGreaterThan(0);
          for (const call of subject.invalid) {
            const error = await rejection(collect(source, call, { fragmentId: 'broken' }));
            expectClassified(error, source, 'FRAGMENT_FAILED', false);
          }
          expect(await collect(source, subject.numbersIn([4]))).toEqual([{ n: 4 }]);
        }),
    },
  ];
  const unreachable = subject.unreachable?.bind(subject);
  if (unreachable !== undefined) {
    cases.push({
      name: 'errors: a server that is not there is SOURCE_UNAVAILABLE, retryable',
      run: () =>
        using(unreachable(), async (source) => {
          const error = await rejection(collect(source, subject.numbersIn([1])));
          expectClassified(error, source, 'SOURCE_UNAVAILABLE', true);
        }),
    });
  }
  return cases;
}
