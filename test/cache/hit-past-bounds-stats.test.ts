import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type ExecutionEvent } from '../../src/index.js';

/**
 * A cache entry past a run's bounds is a miss for that run (its call is then held to them):
 * `executor.cache.stats()` counts it as one, as the run's events and result tell it — no
 * `fragment.cached`, not `cached: true` — rather than as a hit (or two, the static lookup's
 * and the pipeline's) that then went to the source anyway.
 */
describe('a cache hit past the run’s bounds', () => {
  const rows = Array.from({ length: 10 }, (_, id) => ({ id, g: 0 }));
  // Static: its key is known before anything runs. Bound: known once `ids` ran.
  const shapes = {
    static: { fragments: [{ id: 'f', source: 'mem', query: { table: 't' } }] },
    bound: {
      fragments: [
        { id: 'g', source: 'mem', query: { table: 'groups' } },
        { id: 'f', source: 'mem', dependsOn: ['g'], query: { table: 't', where: { in: ['g', { $from: 'g', column: 'g' }] } } },
      ],
      merge: 'f',
    },
  };
  for (const [shape, plan] of Object.entries(shapes))
    it(`is counted a miss, not a hit (${shape} key)`, async () => {
      const executor = createExecutor({ sources: { mem: memorySource({ tables: { t: rows, groups: [{ g: 0 }] } }) } });
      try {
        expect((await executor.execute(plan)).status).toBe('ok');
        const before = executor.cache.stats();
        const run = executor.run({ ...plan, limits: { maxRows: 5 } });
        const events: ExecutionEvent[] = [];
        run.events$.subscribe((e) => events.push(e));
        const result = await run.result;
        expect(result.errors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', fragmentId: 'f' })]);
        expect(events.filter((e) => e.type === 'fragment.cached' && e.fragmentId === 'f')).toEqual([]);
        const after = executor.cache.stats();
        // `g` (one row) fits: a hit of its own in the bound shape.
        const groupHits = shape === 'bound' ? 1 : 0;
        expect({ hits: after.hits - before.hits, misses: after.misses - before.misses }).toEqual({ hits: groupHits, misses: 1 });
      } finally {
        await executor.close();
      }
    });
});
