import { expect } from 'vitest';
import { collect, using, type ContractCase } from './support.js';
import type { ContractSubject, PolicyType } from './subject.js';

/** The JS value the values policy gives each type's sample (README, "The values policy"). */
export const POLICY: Readonly<Record<PolicyType, unknown>> = {
  integer: 42,
  'big integer': '9007199254740993', // past Number.MAX_SAFE_INTEGER: the exact decimal string
  decimal: 12.5, // 12.50: at most 15 significant digits, so a number
  'long decimal': '12345678901234567.89', // more: the exact decimal string
  double: 1.5,
  boolean: true,
  date: '2024-02-29',
  timestamp: '2024-01-02T03:04:05.123Z',
  json: { a: [1, 'x'] },
  bytes: Buffer.from([0x00, 0x01, 0xff]),
  'integer array': [1, 2],
  null: null,
};

/** One case per type the connector has: the value it returns, whole and streamed, is the policy's. */
export function valueCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  return (Object.keys(POLICY) as PolicyType[]).flatMap((type) => {
    const call = subject.value(type);
    if (call === undefined) return [];
    return [
      {
        name: `values: ${type} → ${describe(POLICY[type])}`,
        run: () =>
          using(subject.create(), async (source) => {
            expect(await collect(source, call)).toEqual([{ v: POLICY[type] }]);
            if (subject.streams) expect(await collect(source, call, { stream: true })).toEqual([{ v: POLICY[type] }]);
          }),
      },
    ];
  });
}

function describe(value: unknown): string {
  if (Buffer.isBuffer(value)) return 'Buffer';
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}
