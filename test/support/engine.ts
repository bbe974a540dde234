import { z } from 'zod';
import type { ExecuteContext, ExecutionEvent, Executor, QueryRun, Row, SourceExecutor } from '../../src/index.js';
import { TributaryError } from '../../src/errors.js';

/**
 * Stand-in sources and collectors for the engine's tests. A test source's native query is
 * `{ key, params? }`: `key` names what the test wants back, `params` may hold bound
 * references the engine resolves into `ctx.params`.
 */

export const testQuerySchema = z.strictObject({
  key: z.string().min(1),
  params: z.array(z.unknown()).optional(),
});
export type TestQuery = z.infer<typeof testQuerySchema>;

/** A promise with its settle functions outside. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One `execute` call seen by a test source, with the power to settle it. */
export interface SeenCall {
  key: string;
  query: TestQuery;
  params: unknown[];
  signal: AbortSignal;
  resolve(rows: Row[]): void;
  reject(error: unknown): void;
  settled: boolean;
}

/** What a test source does on a call: rows, a thrown error, or `undefined` to wait for the test. */
export type Behaviour = (call: SeenCall, ctx: ExecuteContext) => Row[] | Error | undefined | Promise<Row[]>;

export interface TestSource {
  source: SourceExecutor<TestQuery>;
  calls: SeenCall[];
  /** Calls not yet settled. */
  inFlight(): number;
  /** The highest number of calls in flight at once. */
  maxInFlight(): number;
  /** Resolves once `n` calls have been made in total. */
  waitForCalls(n: number): Promise<void>;
  closed: number;
}

/**
 * A source under the test's control. By default each call waits until the test settles it
 * through `calls[i]`; `behaviour` can answer at once instead. The call's promise rejects
 * with the signal's reason when the signal fires, as a well-behaved connector does.
 */
export function testSource(options: { behaviour?: Behaviour; maxConcurrency?: number; kind?: string } = {}): TestSource {
  const calls: SeenCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  const state = { closed: 0 };
  const source: SourceExecutor<TestQuery> = {
    kind: options.kind ?? 'test',
    querySchema: testQuerySchema,
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    execute(query, ctx) {
      const d = deferred<Row[]>();
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const call: SeenCall = {
        key: query.key,
        query,
        params: ctx.params,
        signal: ctx.signal,
        settled: false,
        resolve: (rows) => {
          if (call.settled) return;
          call.settled = true;
          inFlight--;
          d.resolve(rows);
        },
        reject: (error) => {
          if (call.settled) return;
          call.settled = true;
          inFlight--;
          d.reject(error);
        },
      };
      calls.push(call);
      ctx.signal.addEventListener('abort', () => call.reject(ctx.signal.reason), { once: true });
      for (const w of waiters.filter((x) => calls.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const answer = options.behaviour?.(call, ctx);
      if (answer instanceof Error) call.reject(answer);
      else if (Array.isArray(answer)) call.resolve(answer);
      else if (answer) answer.then(call.resolve, call.reject);
      return d.promise;
    },
    close: () => {
      state.closed++;
      return Promise.resolve();
    },
  };
  return {
    source,
    calls,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    waitForCalls: (n) =>
      calls.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiters.push({ n, resolve });
          }),
    get closed() {
      return state.closed;
    },
  };
}

/** An error a source throws that the engine should retry (or not). */
export function sourceError(message: string, retryable: boolean): Error {
  return Object.assign(new Error(message), { retryable });
}

/** Every event of a run, from the moment of the call (subscribe right after `run()`). */
export function collectEvents(run: QueryRun): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  run.events$.subscribe((e) => events.push(e));
  return events;
}

/** The events of one type, typed. */
export function ofType<T extends ExecutionEvent['type']>(events: readonly ExecutionEvent[], type: T): Extract<ExecutionEvent, { type: T }>[] {
  return events.filter((e): e is Extract<ExecutionEvent, { type: T }> => e.type === type);
}

/** Waits until `check` holds, polling on macrotasks (real timers only). */
export async function until(check: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Lets queued microtasks and promise chains run (works under fake timers too). */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/** Rows sorted by their JSON, for order-insensitive comparison. */
export function sortRows(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The TributaryError a run of `plan` with `params` is refused with (thrown or rejected); fails if it runs. */
export async function runRefusal(executor: Executor, plan: Parameters<Executor['execute']>[0], params: Record<string, unknown>): Promise<TributaryError> {
  try {
    await executor.execute(plan, { params });
  } catch (error) {
    if (error instanceof TributaryError) return error;
    throw error;
  }
  throw new Error('the run was not refused');
}
