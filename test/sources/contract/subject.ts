import type { SourceExecutor } from '../../../src/sources/index.js';

/**
 * What a connector gives the contract suite: how to make its source and how to say a few
 * things in its own native query language. Everything optional is a capability the
 * connector may lack (an in-memory source has no server to cancel on); the suite then runs
 * no case for it rather than skipping one.
 */

/** The rows of the values policy (README, "The values policy"), by the name of their type. */
export type PolicyType =
  | 'integer'
  | 'big integer'
  | 'decimal'
  | 'long decimal'
  | 'double'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'json'
  | 'bytes'
  | 'integer array'
  | 'null';

/** A query with the params a direct `execute` call gets (`ctx.params`, references resolved). */
export interface Call<Q> {
  query: Q;
  params: unknown[];
}

export interface ContractSubject<Q = unknown> {
  /** In test names: `postgres`, `http`, … */
  name: string;
  /** Before the cases (fixtures, servers) and after them. */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A new source under test, with its own row/byte limits when given. The suite closes it. */
  create(own?: { maxRows?: number; maxBytes?: number }): SourceExecutor<Q>;
  /** A pooled source with a single connection, to show a call waiting for it can be cancelled. */
  createSingle?(): SourceExecutor<Q>;
  /**
   * One row `{ v }` holding the database's value of `type` for the suite's sample (see
   * values.ts: 42, 9007199254740993, 12.50, 12345678901234567.89, 1.5, true, 2024-02-29,
   * 2024-01-02 03:04:05.123 UTC, {"a":[1,"x"]}, bytes 00 01 ff, {1,2}, NULL);
   * `undefined` when the source has no such type.
   */
  value(type: PolicyType): Call<Q> | undefined;
  /** Rows `{ n, s }` for n = 1..count in order, `s` being 40 'x'; `marker` names the statement on the server. */
  rows(count: number, marker: string): Call<Q>;
  /** Rows `{ n }` for the n of 1..100 that are in `list` (a bound list), ascending. */
  numbersIn(list: unknown[]): Call<Q>;
  /** One row `{ v }` echoing the bound string `text` (sent as a bound value, never spliced). */
  echo?(text: string): Call<Q>;
  /** A call that runs for 30 s or more unless it is stopped. */
  slow?(marker: string): Call<Q>;
  /** How many executions of `marker`'s statement are open on the server (running or suspended). */
  openOnServer?(marker: string): Promise<number>;
  /** How many requests the server has answered for `marker` (a paging source's unit of work). */
  requestsServed?(marker: string): number;
  /** Calls the source rejects as wrong (syntax, unknown table): FRAGMENT_FAILED, not retryable. */
  invalid: Call<Q>[];
  /** A source whose server is not there: SOURCE_UNAVAILABLE, retryable. */
  unreachable?(): SourceExecutor<Q>;
  /**
   * How a child process makes the same source (a repo file exporting a factory, and its
   * options as JSON), to show that a process that queried, cancelled and closed exits by itself.
   */
  child?(): { file: string; factory: string; options: Record<string, unknown> };
  /** With `ctx.stream`, the source returns batches as they arrive and waits for the consumer. */
  streams: boolean;
  /** What `maxBytes` bounds: the rows' estimate (`estimateRowBytes`) or response bytes as read. */
  bytes: 'estimate' | 'wire';
}
