import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type QueryRun } from '../../../src/index.js';
import { deferred } from '../../support/engine.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';

/**
 * Issue 12 for a run that ends before it starts: an asynchronous `authorize` rule refuses it,
 * or it is cancelled while the rule decides. The query actor goes from `planned` straight to
 * `failed` (announced before it emits, no source actor); every snapshot and event kept on
 * arrival is unchanged after the run; its last snapshot counts nothing run.
 */
describe('immutable snapshots: runs refused before they start', () => {
  const plan = {
    id: 'imm-refused',
    fragments: [
      { id: 'a', source: 'mem', query: { table: 't' } },
      { id: 'b', source: 'mem', dependsOn: ['a'], query: { table: 't' } },
    ],
    merge: { op: 'union' as const, inputs: ['a', 'b'] },
  };

  for (const how of ['refused', 'cancelled'] as const) {
    it(`an asynchronous authorize rule: ${how} while it decides`, async () => {
      const audit = snapshotAudit();
      const decision = deferred<boolean | string>();
      const executor = createExecutor({
        sources: { mem: memorySource({ tables: { t: [{ id: 1 }] } }) },
        authorize: () => decision.promise,
        inspect: audit.inspect,
      });
      try {
        const run: QueryRun = audit.watch(executor.run(plan, { principal: { id: 'alice' } }));
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (how === 'refused') decision.resolve('not today');
        else run.cancel('changed my mind');
        const error = await run.result.then(() => new Error('not refused'), (e: unknown) => e as Error);
        expect(error).toMatchObject({ code: how === 'refused' ? 'FORBIDDEN' : 'CANCELLED' });
        const final = run.actor.getSnapshot();
        expect(final.value).toBe('failed');
        expect(final.context.counts).toMatchObject({ total: 2, succeeded: 0, failed: 0, skipped: 0, queued: 0, running: 0 });
        expect(final.context.failure).toMatchObject({ code: how === 'refused' ? 'FORBIDDEN' : 'CANCELLED' });
        expect(audit.problems(run, error, ['mem'])).toEqual([]);
        expect(audit.kept(run).children).toEqual([]);
        decision.resolve(true);
      } finally {
        await executor.close();
      }
    });
  }
});
