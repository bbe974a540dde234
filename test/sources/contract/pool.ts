import { expect } from 'vitest';
import { eventually } from '../../support/servers.js';
import { collect, context, marker, rejection, using, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

/** A pooled source whose only connection is busy still cancels: the waiting call, and the running one. */
export function poolCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const single = subject.createSingle?.bind(subject);
  const slow = subject.slow?.bind(subject);
  const open = subject.openOnServer?.bind(subject);
  if (single === undefined || slow === undefined || open === undefined) return [];
  return [
    {
      name: 'pool: with its one connection busy, a waiting call and the running one both cancel at once',
      run: () =>
        using(single(), async (source) => {
          const tag = marker('hog');
          const running = new AbortController();
          const hogCall = slow(tag);
          const hog = rejection(Promise.resolve(source.execute(hogCall.query, context(hogCall, { signal: running.signal }))));
          expect(await eventually(async () => (await open(tag)) === 1, 5000)).toBe(true);

          const waiting = new AbortController();
          const waitReason = new Error('waited too long');
          const queued = rejection(collect(source, subject.numbersIn([1]), { signal: waiting.signal }));
          // The hog sleeps 30 s, the test's own timeout: a waiting call that could only give up
          // once it got the connection would fail the test by timing out.
          setTimeout(() => waiting.abort(waitReason), 100);
          expect(await queued).toBe(waitReason);

          // The cancel must not need a pooled connection: the only one is busy.
          const hogReason = new Error('stop hogging');
          running.abort(hogReason);
          expect(await hog).toBe(hogReason);
          expect(await eventually(async () => (await open(tag)) === 0, 3000)).toBe(true);
          expect(await collect(source, subject.numbersIn([2]))).toEqual([{ n: 2 }]);
        }),
    },
  ];
}
