import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, sqliteRunStore, } from '../../src/index.js';
import { heldPartSource } from './fixtures/held-part.js';

/*
 * A plan need not have an id: it is given one when prepared (`query-<n>`, a counter of the
 * process). Resume prepares the stored plan again and must still know it for the run's own.
 */
const dir = mkdtempSync(join(tmpdir(), 'tributary-anon-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan = { fragments: [{ id: 'a', source: 't', query: { part: 'a' } }, { id: 'b', source: 't', dependsOn: ['a'], query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };

describe('durable runs of a plan without an id', () => {
  it('resume the interrupted run, its finished fragment not run again', async () => {
    const file = join(dir, 'runs.db');
    const t = heldPartSource();
    const first = createExecutor({ sources: { t: t.source }, cache: false, runStore: sqliteRunStore({ file }), runLeaseMs: 60_000 });
    const run = first.run(plan, { runId: 'nightly' });
    await expect.poll(async () => (await first.runs()).find((r) => r.runId === 'nightly')?.stored, { timeout: 5000, interval: 5 }).toBe(1);
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    t.release();
    // Another plan prepared meanwhile (as any process does) moves the anonymous counter on.
    const second = heldPartSource();
    second.release();
    const e = createExecutor({ sources: { t: second.source }, cache: false, runStore: sqliteRunStore({ file }), runLeaseMs: 60_000 });
    try {
      await e.execute(plan);
      const result = await (await e.resume('nightly')).result;
      expect(result.rows).toEqual([{ part: 'a' }, { part: 'b' }]);
      expect(result.fragments.a!.cached).toBe(true);
    } finally {
      await e.close();
    }
  });
});
