import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type SourceExecutor } from '../../../src/index.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';
import { sourceError, testSource } from '../../support/engine.js';

/**
 * Issue 12 whatever the sources are called and however fragments are scheduled: names XState
 * reads specially as a send target (`#_parent`), paths and `__proto__` (an own key, as a
 * sources file makes it); `eager` scheduling with hits from the in-process cache that settle
 * in the step that dispatched them and release what depends on them in that same step. Every
 * snapshot and event kept on arrival is unchanged after the run; each child actor's id is its
 * source's name.
 */
describe('immutable snapshots: source names and eager scheduling', () => {
  const names = ['#_parent', '#_x', 'a.b', 'constructor', '__proto__'];

  for (const schedule of ['levels', 'eager'] as const) {
    it(`a chain over five oddly named sources, a failure under partial, then the same run from the cache (${schedule})`, async () => {
      const audit = snapshotAudit();
      const sources = JSON.parse(`{${names.map((n) => `${JSON.stringify(n)}: null`).join(',')}, "broken": null}`) as Record<string, SourceExecutor>;
      names.forEach((name, i) => (sources[name] = memorySource({ tables: { t: [{ name, i }] } })));
      sources.broken = testSource({ behaviour: () => sourceError('broken on purpose', false) }).source;
      const executor = createExecutor({ sources, inspect: audit.inspect, retry: { attempts: 1 } });
      const plan = {
        id: `imm-names-${schedule}`,
        errorPolicy: 'partial' as const,
        schedule,
        fragments: [
          ...names.map((source, i) => ({ id: `f${i}`, source, ...(i > 0 ? { dependsOn: [`f${i - 1}`] } : {}), query: { table: 't' } })),
          { id: 'bad', source: 'broken', dependsOn: ['f0'], query: { key: 'bad' } },
          { id: 'below', source: '__proto__', dependsOn: ['bad'], query: { table: 't' } },
        ],
        merge: { op: 'union' as const, inputs: names.map((_, i) => `f${i}`) },
      };
      try {
        for (const pass of ['cold', 'cached']) {
          const run = audit.watch(executor.run(plan));
          const result = await run.result;
          expect([pass, result.status]).toEqual([pass, 'partial']);
          expect(result.rows).toEqual(names.map((name, i) => ({ name, i })));
          expect(result.fragments.below!.status).toBe('skipped');
          expect(result.stats.cacheHits).toBe(pass === 'cold' ? 0 : names.length);
          expect(audit.problems(run, result, [...names, 'broken'])).toEqual([]);
          const children = audit.kept(run).children.sort();
          expect(children).toEqual(pass === 'cold' ? [...names, 'broken'].sort() : ['broken']);
        }
      } finally {
        await executor.close();
      }
    });
  }
});
