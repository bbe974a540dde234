import { expect } from 'vitest';
import { collect, using, type ContractCase } from './support.js';
import type { ContractSubject } from './subject.js';

const ATTACKS = ["'); DROP TABLE t; --", "' OR 1=1 --", "\\'; DROP TABLE x; --", 'a"b{c},d\\', 'NULL', '%_?$1'];

/** Bound lists (small, empty, long, split into batches) and bound strings that look like SQL. */
export function listCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  const numbers = (rows: { n?: unknown }[]) => rows.map((r) => r.n);
  const cases: ContractCase[] = [
    {
      name: 'bound lists: the rows of the listed values, none for an empty list',
      run: () =>
        using(subject.create(), async (source) => {
          expect(numbers(await collect(source, subject.numbersIn([5, 1, 99, 1000])))).toEqual([1, 5, 99]);
          expect(await collect(source, subject.numbersIn([]))).toEqual([]);
          expect(numbers(await collect(source, subject.numbersIn([7])))).toEqual([7]);
        }),
    },
    {
      name: 'bound lists: a long list, and the same list in batches, give the same rows',
      run: () =>
        using(subject.create(), async (source) => {
          const list = Array.from({ length: 1000 }, (_, i) => (i * 7) % 250);
          const expected = [...new Set(list.filter((n) => n >= 1 && n <= 100))].sort((a, b) => a - b);
          expect(numbers(await collect(source, subject.numbersIn(list)))).toEqual(expected);
          const batched: unknown[] = [];
          for (let at = 0; at < list.length; at += 300) batched.push(...numbers(await collect(source, subject.numbersIn(list.slice(at, at + 300)))));
          expect([...new Set(batched)].sort((a, b) => Number(a) - Number(b))).toEqual(expected);
        }),
    },
  ];
  const echo = subject.echo?.bind(subject);
  if (echo !== undefined) {
    cases.push({
      name: 'bound values: strings that look like SQL come back verbatim',
      run: () =>
        using(subject.create(), async (source) => {
          for (const text of ATTACKS) expect(await collect(source, echo(text))).toEqual([{ v: text }]);
        }),
    });
  }
  return cases;
}
