import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, memorySource, type SourceExecutor } from '../../src/index.js';
import { Scheduler } from '../../src/run/scheduler.js';
import { StatusTable } from '../../src/run/status-table.js';

const broken: SourceExecutor = {
  kind: 'broken',
  querySchema: z.object({ i: z.number() }),
  execute: () => Promise.reject(Object.assign(new Error('relation does not exist'), { retryable: false })),
};

/** `roots` failing fragments, a hub that depends on all of them, and `below` fragments under the hub. */
function fanIn(roots: number, below: number) {
  const fragments: { id: string; source: string; query: unknown; dependsOn?: string[] }[] = [];
  for (let i = 0; i < roots; i++) fragments.push({ id: `r${i}`, source: 'broken', query: { i } });
  fragments.push({ id: 'hub', source: 'mem', dependsOn: fragments.map((f) => f.id), query: { table: 't' } });
  for (let i = 0; i < below; i++) fragments.push({ id: `d${i}`, source: 'mem', dependsOn: ['hub'], query: { table: 't' } });
  fragments.push({ id: 'ok', source: 'mem', query: { table: 't' } });
  return { errorPolicy: 'partial' as const, fragments, merge: { op: 'union' as const, inputs: fragments.map((f) => f.id) } };
}

describe('skipping downstream of failures (partial)', () => {
  it('walks each edge once over the run, not the whole downstream once per failed upstream', () => {
    const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }), broken } });
    const prepared = executor.prepare(fanIn(200, 200));
    const table = new StatusTable(prepared);
    let asked = 0;
    const skip = table.skipped.bind(table);
    table.skipped = (i: number) => {
      asked++;
      return skip(i);
    };
    const scheduler = new Scheduler(prepared, table);
    const skipped = prepared.fragments.filter((f) => f.id.startsWith('r')).map((f) => scheduler.skipDownstream(f.index));
    // The first failure skips the hub and everything under it; the others find the hub skipped.
    expect(skipped[0]).toHaveLength(201);
    expect(skipped.slice(1).every((s) => s.length === 0)).toBe(true);
    // 200 edges into the hub, 200 out of it: 400 questions, where a walk per failure asked 200 × 201.
    expect(asked).toBe(400);
    return executor.close();
  });

  it('a wide plan whose roots all fail under "partial" answers with the rest, each failure listed and the rest skipped', async () => {
    const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }), broken }, cache: false, retry: { attempts: 1 }, limits: { maxFragments: 10_000 } });
    try {
      for (const schedule of ['levels', 'eager'] as const) {
        const result = await executor.execute({ ...fanIn(2000, 2000), schedule });
        expect(result.status).toBe('partial');
        expect(result.rows).toEqual([{ id: 1 }]);
        expect(result.errors).toHaveLength(2000);
        expect(Object.values(result.fragments).filter((f) => f.status === 'skipped')).toHaveLength(2001);
        expect(result.fragments.ok!.status).toBe('succeeded');
      }
    } finally {
      await executor.close();
    }
  });
});
