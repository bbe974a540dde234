import { expect } from 'vitest';
import { repoFileUrl, runScript } from '../../support/servers.js';
import { marker, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

/** A process that used the source, cancelled a call and closed it exits by itself: nothing keeps it alive. */
export function processCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const child = subject.child?.bind(subject);
  const slow = subject.slow?.bind(subject);
  if (child === undefined || slow === undefined) return [];
  return [
    {
      name: 'closing: a process that queried, cancelled a call and closed exits by itself',
      run: async () => {
        const { file, factory, options } = child();
        const script = `
          const { ${factory}: make } = await import(${JSON.stringify(repoFileUrl(file))});
          const source = make(${JSON.stringify(options)});
          const small = ${JSON.stringify(subject.numbersIn([1]))};
          const rows = await source.execute(small.query, { params: small.params, signal: new AbortController().signal });
          const slow = ${JSON.stringify(slow(marker('exit')))};
          const gaveUp = new AbortController();
          setTimeout(() => gaveUp.abort(new Error('enough')), 100);
          const cancelled = await source
            .execute(slow.query, { params: slow.params, signal: gaveUp.signal })
            .then(() => 'finished', (error) => error.message);
          await source.close();
          await source.close();
          console.log(JSON.stringify({ rows, cancelled }));
        `;
        const result = await runScript(script, {}, 20_000);
        expect(result.stderr).toBe('');
        expect(result).toMatchObject({ code: 0, timedOut: false });
        expect(JSON.parse(result.stdout)).toEqual({ rows: [{ n: 1 }], cancelled: 'enough' });
      },
    },
  ];
}
