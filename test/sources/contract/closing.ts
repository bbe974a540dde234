import { expect } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { collect, rejection, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

/** close() releases the source once, may be called again, and later calls are refused. */
export function closingCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  return [
    {
      name: 'closing: close() is idempotent and refuses calls afterwards',
      run: async () => {
        const source = subject.create();
        expect(await collect(source, subject.numbersIn([1]))).toEqual([{ n: 1 }]);
        expect(source.close).toBeTypeOf('function');
        await source.close?.();
        await source.close?.();
        expect(await rejection(collect(source, subject.numbersIn([1])))).toBeInstanceOf(TributaryError);
      },
    },
  ];
}
