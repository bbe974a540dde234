import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource } from '../../src/index.js';

/**
 * A recorded run replays under its executor's merge bounds (`rowLimits.maxResultRows` /
 * `maxResultBytes`): a run whose join failed LIMIT_EXCEEDED fails the same way replayed,
 * not with the default bounds of the replaying executor.
 */
describe('replayed runs keep the merge bounds they ran under', () => {
  it('a join past maxResultRows fails LIMIT_EXCEEDED at the same path replayed', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, k: 1 }));
    const plan = {
      id: 'product',
      fragments: [
        { id: 'a', source: 'm', query: { table: 't' } },
        { id: 'b', source: 'm', query: { table: 't' } },
      ],
      merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['k', 'k']] },
    };
    const recorder = createExecutor({ sources: { m: memorySource({ tables: { t: rows } }) }, cache: false, rowLimits: { maxResultRows: 1000, maxResultBytes: null } });
    const run = recorder.run(plan, { record: true });
    const result = await run.result;
    const json = JSON.stringify(run.recording());
    await recorder.close();
    expect(result.status).toBe('failed');
    expect(result.errors.map((e) => [e.code, e.issues[0]?.path])).toEqual([['LIMIT_EXCEEDED', 'merge']]);
    const replayed = await createExecutor().replay(json).result;
    expect(replayed.status).toBe('failed');
    expect(replayed.errors.map((e) => [e.code, e.message])).toEqual(result.errors.map((e) => [e.code, e.message]));
  });
});
