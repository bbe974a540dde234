import { z } from 'zod';
import type { Row, SourceExecutor } from '../../src/index.js';

/**
 * Test helpers for runs that must end without time passing: a source whose calls never
 * settle, and a check that a promise settles within a few hundred event-loop turns.
 */

/** A source whose calls never settle (unless the query says `answer`): it records each call and its abort. */
export function hanging() {
  const calls: string[] = [];
  const aborts: { name: string; reason: unknown }[] = [];
  const source: SourceExecutor<{ name: string; answer?: boolean; ids?: unknown }> = {
    kind: 'hanging',
    querySchema: z.strictObject({ name: z.string(), answer: z.boolean().optional(), ids: z.unknown().optional() }),
    maxConcurrency: 1,
    execute(query, ctx) {
      calls.push(query.name);
      if (query.answer) return Promise.resolve([{ name: query.name }]);
      ctx.signal.addEventListener('abort', () => aborts.push({ name: query.name, reason: ctx.signal.reason }), { once: true });
      return new Promise<Row[]>(() => undefined);
    },
  };
  return { source, calls, aborts };
}

/** Whether `promise` settles within a few hundred turns of the event loop (no time passes on the run's clock). */
export async function settles(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 200 && !done; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
}
