import { z } from 'zod';
import type { ExecuteContext, Row, SourceExecutor } from '../../src/index.js';

/**
 * Sources for the abort fuzzing: a slow custom source (timers, optional streaming, optional
 * failure) and a wrapper that records every `execute` call of any source, so a test can
 * tell whether a call is still running after its query has ended.
 */

/** One `execute` call as the tracker saw it. */
export interface TrackedCall {
  source: string;
  startedAt: number;
  settledAt: number | undefined;
  /** When the call's signal fired, if it did. */
  abortedAt: number | undefined;
  signal: AbortSignal;
}

export const slowQuerySchema = z.strictObject({
  key: z.string(),
  ms: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  fail: z.boolean().optional(),
  stream: z.boolean().optional(),
  /** What the reference should expect; the source itself ignores it. */
  note: z.literal('times out').optional(),
  params: z.array(z.unknown()).optional(),
});
export type SlowQuery = z.infer<typeof slowQuerySchema>;

/** The rows a slow query answers with (per call, so per batch). */
export const slowRows = (q: SlowQuery): Row[] => Array.from({ length: q.rows }, (_, i) => ({ key: q.key, i }));

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function* stream(q: SlowQuery, signal: AbortSignal): AsyncGenerator<Row[]> {
  const rows = slowRows(q);
  for (let i = 0; i < 3; i++) {
    await sleep(Math.ceil(q.ms / 3), signal);
    yield rows.slice((i * rows.length) / 3, ((i + 1) * rows.length) / 3);
  }
  if (q.fail) throw Object.assign(new Error(`slow source failed on ${q.key}`), { retryable: false });
}

/** A source that answers after `ms`, honouring its signal as a well-behaved connector does. */
export function slowSource(): SourceExecutor<SlowQuery> {
  return {
    kind: 'slow',
    querySchema: slowQuerySchema,
    execute(q, ctx) {
      if (q.stream) return stream(q, ctx.signal);
      return sleep(q.ms, ctx.signal).then(() => {
        if (q.fail) throw Object.assign(new Error(`slow source failed on ${q.key}`), { retryable: false });
        return slowRows(q);
      });
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Row[]> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<Row[]>)[Symbol.asyncIterator] === 'function';
}

/** `source` with every call recorded in `calls`; a call has settled when its promise or stream has ended. */
export function tracked(name: string, source: SourceExecutor, calls: TrackedCall[]): SourceExecutor {
  const execute = (query: unknown, ctx: ExecuteContext): Promise<Row[]> | AsyncIterable<Row[]> => {
    const call: TrackedCall = { source: name, startedAt: performance.now(), settledAt: undefined, abortedAt: undefined, signal: ctx.signal };
    calls.push(call);
    ctx.signal.addEventListener('abort', () => (call.abortedAt ??= performance.now()), { once: true });
    const settle = () => {
      call.settledAt ??= performance.now();
    };
    let out: Promise<Row[]> | AsyncIterable<Row[]>;
    try {
      out = source.execute(query, ctx);
    } catch (error) {
      settle();
      throw error;
    }
    if (!isAsyncIterable(out)) return Promise.resolve(out).finally(settle);
    const inner = out;
    return {
      [Symbol.asyncIterator]: () => {
        const it = inner[Symbol.asyncIterator]();
        return {
          next: () => it.next().then((r) => (r.done ? (settle(), r) : r), (e: unknown) => (settle(), Promise.reject(e as Error))),
          return: (value?: unknown) => (settle(), it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined })),
        };
      },
    };
  };
  return Object.assign(Object.create(null) as object, source, { execute }) as SourceExecutor;
}
