import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecutor, sqliteRunStore, type Principal, } from '../../src/index.js';
import { heldPartSource } from './fixtures/held-part.js';

/*
 * A durable run's scope is the digest of its principal's claims, taken from the caller's
 * principal when stored and from the principal read back from the store when found: claims
 * whose stored form differs from the given one (a class instance comes back a plain object)
 * must still find their own run.
 */
class Tenant {
  constructor(readonly name: string) {}
}

const dir = mkdtempSync(join(tmpdir(), 'tributary-claims-form-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan = { id: 'held', fragments: [{ id: 'a', source: 't', query: { part: 'a' } }, { id: 'b', source: 't', dependsOn: ['a'], query: { part: 'b' } }], merge: { op: 'union', inputs: ['a', 'b'] } };

describe('durable runs: claims whose stored form is not the given one', () => {
  it('a principal with a class-instance claim resumes and lists its own interrupted run', async () => {
    const file = join(dir, 'runs.db');
    const principal: Principal = { id: 'ann', tenant: new Tenant('a') };
    const t = heldPartSource();
    const first = createExecutor({ sources: { t: t.source }, cache: false, runStore: sqliteRunStore({ file }), runLeaseMs: 60_000 });
    const run = first.run(plan, { runId: 'nightly', principal });
    await expect.poll(async () => (await first.runs({ anyPrincipal: true })).find((r) => r.runId === 'nightly')?.stored, { timeout: 5000, interval: 5 }).toBe(1);
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    t.release();
    const e = createExecutor({ sources: { t: heldPartSource().source }, cache: false, runStore: sqliteRunStore({ file }), runLeaseMs: 60_000 });
    try {
      expect(await e.runs({ principal })).toMatchObject([{ runId: 'nightly', state: 'interrupted', stored: 1 }]);
      const resumed = await e.resume('nightly', { principal });
      expect(resumed).toBeDefined();
    } finally {
      await e.close();
    }
  });
});
