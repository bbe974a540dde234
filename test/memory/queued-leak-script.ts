/**
 * Run by leak.test.ts in a child process with --expose-gc: a source's only slot is held by a
 * call that never ends while 300 runs wait for it and are cancelled; prints how many of
 * those runs are still alive after GC.
 */
import { z } from 'zod';
import { createExecutor, type Row, type SourceExecutor } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const query = z.strictObject({ hang: z.boolean(), n: z.number() });
const source: SourceExecutor<z.infer<typeof query>> = {
  kind: 'one-slot',
  querySchema: query,
  maxConcurrency: 1,
  execute: (q) => (q.hang ? new Promise<Row[]>(() => undefined) : Promise.resolve([{ n: q.n }])),
};
const executor = createExecutor({ sources: { s: source }, cache: false, timeoutMs: 3_600_000 });
const holder = executor.run({ fragments: [{ id: 'a', source: 's', query: { hang: true, n: 0 } }] });

/** A run that waits for the slot and is cancelled; in a function of its own, so no frame of this module keeps it. */
async function cancelledWhileQueued(n: number): Promise<WeakRef<object>> {
  const run = executor.run({ fragments: [{ id: 'a', source: 's', query: { hang: false, n } }] });
  await new Promise((resolve) => setImmediate(resolve));
  run.cancel();
  await run.result.catch(() => undefined);
  return new WeakRef(run);
}

const refs: WeakRef<object>[] = [];
for (let i = 0; i < 300; i++) refs.push(await cancelledWhileQueued(i));
for (let i = 0; i < 5; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const alive = refs.filter((r) => r.deref() !== undefined).length;
const queued = executor.metrics().lanes.sources.s!.queued;
holder.cancel();
await holder.result.catch(() => undefined);
await executor.close();
console.log(JSON.stringify({ alive, queued }));
