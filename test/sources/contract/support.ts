import { randomBytes } from 'node:crypto';
import type { Row } from '../../../src/data/row.js';
import type { ExecuteContext, SourceExecutor } from '../../../src/sources/index.js';
import type { Call } from './subject.js';

/** One case of the contract: a name and a body that throws (an assertion) when the connector breaks it. */
export interface ContractCase {
  name: string;
  run(): Promise<void>;
}

/** A statement marker no other test uses. */
export const marker = (what: string): string => `contract_${what}_${randomBytes(4).toString('hex')}`;

export const context = (call: Call<unknown>, extra: Partial<ExecuteContext> = {}): ExecuteContext => ({
  params: call.params,
  signal: new AbortController().signal,
  ...extra,
});

/** Runs a call and collects every row, whether the source answered with an array or batches. */
export async function collect<Q>(source: SourceExecutor<Q>, call: Call<Q>, extra: Partial<ExecuteContext> = {}): Promise<Row[]> {
  const result = source.execute(call.query, context(call, extra));
  if (!isBatches(result)) return result;
  const rows: Row[] = [];
  for await (const batch of result) rows.push(...batch);
  return rows;
}

export function isBatches(result: Promise<Row[]> | AsyncIterable<Row[]>): result is AsyncIterable<Row[]> {
  return typeof (result as Partial<AsyncIterable<Row[]>>)[Symbol.asyncIterator] === 'function';
}

/** The rejection of `promise`; throws if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error('expected the call to fail, but it succeeded');
  return outcome.error;
}

/** Runs `body` with a source from `create`, closing it afterwards whatever happens. */
export async function using<Q, T>(source: SourceExecutor<Q>, body: (source: SourceExecutor<Q>) => Promise<T>): Promise<T> {
  try {
    return await body(source);
  } finally {
    await source.close?.();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
