import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, memorySource, withColumns, type Plan, type Row, type SourceExecutor } from '../../src/index.js';
import { hanging, settles } from '../support/hanging-source.js';

/**
 * A streamed `limit` that is full stops the fragments whose rows can no longer pass it,
 * whether or not they have delivered a batch: before, one still waiting for its first rows
 * ran on to its timeout, which then failed the run although the reader had every row it
 * asked for. Time never moves here (a virtual clock nobody advances): a run that waited
 * for a timeout would never end, and `settles` says so.
 */

/** A memory fragment `m` over `names` and a fragment `slow` that never answers, on a virtual clock nobody moves. */
function setup(names: string[]) {
  const h = hanging();
  const mem = memorySource({ tables: { t: names.map((name) => ({ name })) } });
  const executor = createExecutor({ sources: { mem, h: h.source }, clock: createVirtualClock(), cache: false });
  const fragments = [
    { id: 'm', source: 'mem', query: { table: 't' } },
    { id: 'slow', source: 'h', query: { name: 'slow' } },
  ];
  return { h, executor, fragments };
}

describe('a full streamed limit', () => {
  it('stops a fragment that has delivered nothing yet, and the run resolves ok with every row asked for', async () => {
    const { h, executor, fragments } = setup(['m1', 'm2', 'm3']);
    try {
      const run = executor.run({
        fragments,
        merge: { op: 'limit', n: 2, input: { op: 'union', inputs: ['m', 'slow'] } },
      });
      const rows: Row[] = [];
      const read = (async () => {
        for await (const batch of run.rows()) rows.push(...batch);
      })();
      expect(await settles(read)).toBe(true);
      expect(await settles(run.result)).toBe(true);
      await read;
      expect(rows).toEqual([{ name: 'm1' }, { name: 'm2' }]);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(result.errors).toEqual([]);
      expect(h.calls).toEqual(['slow']);
      expect(h.aborts.map((a) => a.name)).toEqual(['slow']);
      expect(result.completeness.fragments.slow).toMatchObject({ status: 'succeeded', reason: 'limit-stopped' });
    } finally {
      await executor.close();
    }
  });

  it('stops a fragment another binds once that one\'s rows are unwanted too, and the binding one never runs', async () => {
    const { h, executor, fragments } = setup(['m1', 'm2', 'm3']);
    try {
      const run = executor.run({
        fragments: [...fragments, { id: 'dep', source: 'mem', dependsOn: ['slow'], query: { table: 't', where: { in: ['name', { $from: 'slow', column: 'name' }] } } }],
        merge: { op: 'limit', n: 2, input: { op: 'union', inputs: ['m', 'slow', 'dep'] } },
      });
      const rows: Row[] = [];
      const read = (async () => {
        for await (const batch of run.rows()) rows.push(...batch);
      })();
      // Before, 'slow' ran on for 'dep' (whose rows the full limit did not want either): the run never ended.
      expect(await settles(run.result)).toBe(true);
      await read;
      expect(rows).toEqual([{ name: 'm1' }, { name: 'm2' }]);
      const result = await run.result;
      expect(result.status).toBe('ok');
      expect(h.aborts.map((a) => a.name)).toEqual(['slow']);
      expect(result.completeness.complete).toBe(true);
      expect(result.completeness.fragments).toMatchObject({
        slow: { status: 'succeeded', reason: 'limit-stopped', rowsMayBeMissing: false },
        dep: { status: 'succeeded', reason: 'limit-satisfied', rowsMayBeMissing: false, attempts: 0 },
      });
      expect(result.fragments.dep).toMatchObject({ calls: 0, rowCount: 0 });
    } finally {
      await executor.close();
    }
  });

  it('stops a fragment that only feeds another (not in the merge) once the limit wants neither', async () => {
    const { h, executor, fragments } = setup(['m1', 'm2', 'm3']);
    try {
      const run = executor.run({
        fragments: [...fragments, { id: 'dep', source: 'mem', dependsOn: ['slow'], query: { table: 't', where: { in: ['name', { $from: 'slow', column: 'name' }] } } }],
        merge: { op: 'limit', n: 1, input: { op: 'union', inputs: ['m', 'dep'] } },
      });
      const read = (async () => {
        for await (const batch of run.rows()) void batch;
      })();
      expect(await settles(run.result)).toBe(true);
      await read;
      expect(h.aborts.map((a) => a.name)).toEqual(['slow']);
      expect((await run.result).completeness.fragments).toMatchObject({ slow: { reason: 'limit-stopped' }, dep: { reason: 'limit-satisfied' } });
    } finally {
      await executor.close();
    }
  });

  it('keeps a fragment running while one that binds it still has rows to give', async () => {
    const { h, executor, fragments } = setup(['m1', 'm2', 'm3']);
    try {
      const run = executor.run({
        fragments: [...fragments, { id: 'dep', source: 'mem', dependsOn: ['slow'], query: { table: 't', where: { in: ['name', { $from: 'slow', column: 'name' }] } } }],
        // The limit covers 'm' only: 'dep' (and so 'slow', which it binds) is still wanted.
        merge: { op: 'union', inputs: [{ op: 'limit', n: 1, input: 'm' }, 'dep'] },
      });
      const read = (async () => {
        for await (const batch of run.rows()) void batch;
      })();
      expect(await settles(run.result)).toBe(false);
      expect(h.aborts).toEqual([]);
      run.cancel();
      await read.catch(() => undefined);
      await run.result.catch(() => undefined);
    } finally {
      await executor.close();
    }
  });

  it("keeps a join's right side running for the rows that filled a limit below the join", async () => {
    // The right side answers once the memory fragments below the limit have settled.
    let answer!: () => void;
    const later: SourceExecutor<{ name: string }> = {
      kind: 'later',
      querySchema: z.strictObject({ name: z.string() }),
      execute: () => new Promise<Row[]>((resolve) => (answer = () => resolve(withColumns([{ name: 'm1', note: 'right' }], ['name', 'note'])))),
    };
    const mem = memorySource({ tables: { a: [{ name: 'm1' }], b: [{ name: 'm2' }] } });
    const executor = createExecutor({ sources: { mem, later }, cache: false });
    try {
      const plan: Plan = {
        fragments: [
          { id: 'a', source: 'mem', query: { table: 'a' } },
          { id: 'b', source: 'mem', query: { table: 'b' } },
          { id: 'r', source: 'later', query: { name: 'r' } },
        ],
        merge: { op: 'join', type: 'left', left: { op: 'limit', n: 1, input: { op: 'union', inputs: ['a', 'b'] } }, right: 'r', on: [['name', 'name']] },
      };
      const run = executor.run(plan);
      const rows: Row[] = [];
      const read = (async () => {
        for await (const batch of run.rows()) rows.push(...batch);
      })();
      // 'a' and 'b' settle while 'r' is still out: the limit is full with a's row, which waits at the join.
      expect(await settles(run.result)).toBe(false);
      answer();
      await read;
      const result = await run.result;
      expect(result.status).toBe('ok');
      // Before, the full limit stopped 'r' too: the row went out without its right columns.
      expect(rows).toEqual([{ name: 'm1', 'r.name': 'm1', note: 'right' }]);
      expect(result.completeness.fragments.r).toBeUndefined();
    } finally {
      await executor.close();
    }
  });

  it('does not fail a project for a column only the stopped fragment might have had, and still checks the others', async () => {
    const { executor, fragments } = setup(['m1', 'm2', 'm3']);
    const stream = async (merge: unknown) => {
      const run = executor.run({ fragments, merge } as Parameters<typeof executor.run>[0]);
      const rows: Row[] = [];
      const read = (async () => {
        for await (const batch of run.rows()) rows.push(...batch);
      })().catch((error: unknown) => error);
      expect(await settles(run.result)).toBe(true);
      await read;
      return { rows, result: await run.result };
    };
    try {
      // "extra" is no column of the memory table; 'slow' was stopped before it showed its own.
      const ok = await stream({ op: 'project', columns: ['name', 'extra'], input: { op: 'limit', n: 2, input: { op: 'union', inputs: ['m', 'slow'] } } });
      expect(ok.rows).toEqual([{ name: 'm1', extra: null }, { name: 'm2', extra: null }]);
      expect(ok.result.status).toBe('ok');
      expect(ok.result.completeness.fragments.slow).toMatchObject({ reason: 'limit-stopped' });
      // A project over the memory fragment alone still names a column it lacks: a mistake.
      const typo = await stream({ op: 'limit', n: 2, input: { op: 'union', inputs: [{ op: 'project', columns: ['nmae'], input: 'm' }, 'slow'] } });
      expect(typo.result.status).toBe('failed');
      expect(typo.result.errors[0]).toMatchObject({ code: 'MERGE_FAILED', issues: [{ path: 'merge.input.inputs[0].columns[0]' }] });
    } finally {
      await executor.close();
    }
  });

  it('keeps a limit inside one input of a union to that input: the other still runs to its end', async () => {
    const { h, executor, fragments } = setup(['m1', 'm2']);
    try {
      const run = executor.run({
        fragments,
        merge: { op: 'union', inputs: [{ op: 'limit', n: 1, input: 'm' }, 'slow'] },
      });
      const read = (async () => {
        for await (const batch of run.rows()) void batch;
      })();
      // 'slow' is still wanted: the run waits for it (time does not move, so it never ends here).
      expect(await settles(run.result)).toBe(false);
      expect(h.aborts).toEqual([]);
      run.cancel();
      await read.catch(() => undefined);
      await run.result.catch(() => undefined);
    } finally {
      await executor.close();
    }
  });
});
