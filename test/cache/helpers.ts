import { z } from 'zod';
import type { ExecuteContext, ExecutionEvent, Principal, QueryRun, Row, SourceExecutor } from '../../src/index.js';

/** One `execute` call a probe source saw, which the test may settle. */
export interface ProbeCall {
  query: unknown;
  params: unknown[];
  principal: Principal | undefined;
  signal: AbortSignal;
  resolve(rows: Row[]): void;
  reject(error: unknown): void;
}

/** What a probe answers: rows, an error (thrown), or `'wait'` to leave the call to the test. */
export type ProbeAnswer = (query: unknown, ctx: ExecuteContext, n: number) => Row[] | Error | 'wait';

export interface Probe {
  source: SourceExecutor;
  calls: ProbeCall[];
}

/**
 * A source for cache tests that counts its calls. By default it answers at once with one
 * row naming who asked and what: `{ who: principal id | null, query, params }`, so a test
 * can tell whose entry it was served. A `'wait'` call rejects with the signal's reason
 * when the signal fires, as a connector does.
 */
export function probeSource(options: { cacheScope?: 'principal' | 'shared'; answer?: ProbeAnswer; version?: string } = {}): Probe {
  const calls: ProbeCall[] = [];
  const answer: ProbeAnswer = options.answer ?? ((query, ctx) => [{ who: ctx.principal?.id ?? null, query: query as Row[string], params: ctx.params }]);
  const source: SourceExecutor = {
    kind: 'probe',
    querySchema: z.unknown(),
    ...(options.cacheScope ? { cacheScope: options.cacheScope } : {}),
    ...(options.version ? { version: () => options.version! } : {}),
    execute(query, ctx) {
      return new Promise<Row[]>((resolve, reject) => {
        const call: ProbeCall = { query, params: ctx.params, principal: ctx.principal, signal: ctx.signal, resolve, reject };
        calls.push(call);
        const out = answer(query, ctx, calls.length);
        if (out === 'wait') {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
        } else if (out instanceof Error) {
          reject(out);
        } else {
          resolve(out);
        }
      });
    },
  };
  return { source, calls };
}

/** Every event of a run, collected as it happens. */
export function collect(run: QueryRun): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  run.events$.subscribe((e) => events.push(e));
  return events;
}

/** A plan of one fragment on `source` whose query holds `query`. */
export function onePlan(source: string, query: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'q', fragments: [{ id: 'f', source, query, ...extra }] };
}

/** Resolves once `predicate()` is true (checked every few ms), or rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
