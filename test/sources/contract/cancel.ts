import { getEventListeners } from 'node:events';
import { expect } from 'vitest';
import { eventually } from '../../support/servers.js';
import { collect, context, marker, rejection, using, type ContractCase } from './support.js';
import type { ExecuteContext } from '../../../src/sources/index.js';
import type { Call, ContractSubject } from './subject.js';

/** An aborted signal stops the call at once, with its reason, and the work on the server too. */
export function cancelCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const cases: ContractCase[] = [
    {
      name: 'cancellation: an already aborted signal rejects at once with its reason',
      run: () =>
        using(subject.create(), async (source) => {
          const reason = new Error('already gone');
          const call = subject.numbersIn([1]);
          expect(await rejection(collect(source, call, { signal: AbortSignal.abort(reason) }))).toBe(reason);
        }),
    },
    {
      name: 'cancellation: no abort listener is left behind by a success, a failure or a passed limit',
      run: () =>
        using(subject.create(), async (source) => {
          const left = async (call: Call<Q>, extra: Partial<ExecuteContext> = {}) => {
            const controller = new AbortController();
            await collect(source, call, { ...extra, signal: controller.signal }).catch(() => undefined);
            return getEventListeners(controller.signal, 'abort').length;
          };
          expect(await left(subject.numbersIn([1]))).toBe(0);
          for (const call of subject.invalid) expect(await left(call)).toBe(0);
          expect(await left(subject.rows(10, marker('listeners')), { limits: { maxRows: 5 } })).toBe(0);
        }),
    },
  ];
  const slow = subject.slow?.bind(subject);
  const open = subject.openOnServer?.bind(subject);
  if (slow === undefined || open === undefined) return cases;
  cases.push({
    name: 'cancellation: aborting a running call rejects with the reason at once, and the server stops it',
    run: () =>
      using(subject.create(), async (source) => {
        const tag = marker('cancel');
        const controller = new AbortController();
        const reason = new Error('caller gave up');
        const call = slow(tag);
        const pending = Promise.resolve(source.execute(call.query, context(call, { signal: controller.signal })));
        const outcome = rejection(pending);
        expect(await eventually(async () => (await open(tag)) === 1, 5000)).toBe(true);
        // The statement sleeps 30 s, the test's own timeout: a rejection that waited for it fails the test.
        controller.abort(reason);
        expect(await outcome).toBe(reason);
        expect(await eventually(async () => (await open(tag)) === 0, 3000)).toBe(true);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        expect(await collect(source, subject.numbersIn([2]))).toEqual([{ n: 2 }]);
      }),
  });
  return cases;
}
