import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, memorySource, type QueryResult } from '../../../src/index.js';
import { hanging } from '../../support/hanging-source.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';

/**
 * Issue 12 when the query's deadline passes (virtual clock): an optional fragment is dropped
 * and the run ends `partial`; a required one fails the run with TIMEOUT. Every snapshot and
 * event kept on arrival is unchanged after the run; the last snapshot counts a dropped
 * fragment with the skipped, as the result reports it.
 */
describe('immutable snapshots: deadlines', () => {
  async function atDeadline(optional: boolean, errorPolicy: 'partial' | 'fail-fast', schedule: 'levels' | 'eager' = 'levels'): Promise<{ result: QueryResult; problems: string[]; aborts: string[] }> {
    const clock = createVirtualClock();
    const h = hanging();
    const audit = snapshotAudit();
    const executor = createExecutor({
      sources: { mem: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }), h: h.source },
      clock,
      cache: false,
      inspect: audit.inspect,
    });
    try {
      const run = audit.watch(
        executor.run(
          {
            id: `imm-deadline-${String(optional)}-${schedule}`,
            schedule,
            errorPolicy,
            fragments: [
              { id: 'fast', source: 'mem', query: { table: 't' } },
              { id: 'slow', source: 'h', query: { name: 'slow' }, optional },
              { id: 'after', source: 'mem', dependsOn: ['slow'], query: { table: 't' } },
            ],
            merge: { op: 'union', inputs: ['fast', 'after'] },
          },
          { deadlineMs: 500 },
        ),
      );
      let done = false;
      void run.result.finally(() => (done = true));
      while (!done) await clock.advanceAsync(50);
      const result = await run.result;
      return { result, problems: audit.problems(run, result, ['mem', 'h']), aborts: h.aborts.map((a) => a.name) };
    } finally {
      await executor.close();
    }
  }

  it('an optional fragment is dropped: partial', async () => {
    const { result, problems, aborts } = await atDeadline(true, 'partial');
    expect(result.status).toBe('partial');
    expect(result.fragments.slow!.status).toBe('dropped');
    expect(result.fragments.after!.status).toBe('skipped');
    expect(result.rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect(aborts).toEqual(['slow']);
    expect(problems).toEqual([]);
  });

  it('a required fragment fails the run with TIMEOUT (fail-fast)', async () => {
    const { result, problems, aborts } = await atDeadline(false, 'fail-fast');
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT' });
    expect(aborts).toEqual(['slow']);
    expect(problems).toEqual([]);
  });

  it('a required fragment fails under partial: the rest is merged', async () => {
    const { result, problems } = await atDeadline(false, 'partial');
    expect(result.status).toBe('partial');
    expect(result.fragments.slow!.status).toBe('failed');
    expect(problems).toEqual([]);
  });

  it('the same three under eager scheduling', async () => {
    const dropped = await atDeadline(true, 'partial', 'eager');
    expect([dropped.result.status, dropped.result.fragments.slow!.status, dropped.problems]).toEqual(['partial', 'dropped', []]);
    const failed = await atDeadline(false, 'fail-fast', 'eager');
    expect([failed.result.status, failed.problems]).toEqual(['failed', []]);
    const partial = await atDeadline(false, 'partial', 'eager');
    expect([partial.result.status, partial.result.fragments.slow!.status, partial.problems]).toEqual(['partial', 'failed', []]);
  });
});
