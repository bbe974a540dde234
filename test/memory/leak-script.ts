/**
 * Run by leak.test.ts in a child process with --expose-gc: 1,000 runs over memory and
 * SQLite sources, each result read and dropped; prints what stayed alive.
 */
import { createExecutor, memorySource, sqliteSource } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, label: `row ${i}`.repeat(4) }));
const executor = createExecutor({
  sources: { m: memorySource({ tables: { t: rows } }), lite: sqliteSource({ file: ':memory:' }) },
  cache: false,
});
let collected = 0;
const registry = new FinalizationRegistry(() => collected++);

const plan = {
  fragments: [
    { id: 'a', source: 'm', query: { table: 't' } },
    { id: 'b', source: 'lite', query: { sql: 'SELECT value AS id FROM json_each(?)', params: [{ $from: 'a', column: 'id' }] }, dependsOn: ['a'] },
  ],
  merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['id', 'id']] },
};

const settle = async (): Promise<number> => {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  return process.memoryUsage().heapUsed;
};

async function runMany(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const run = executor.run(plan);
    const result = await run.result;
    if (result.rows.length !== 200) throw new Error(`expected 200 rows, got ${result.rows.length}`);
    registry.register(run, i);
    registry.register(result, i);
  }
}

await runMany(100); // warm up: JIT, statement caches
const before = await settle();
collected = 0;
await runMany(1000);
const after = await settle();
await executor.close();
console.log(JSON.stringify({ collected, growthBytes: after - before }));
