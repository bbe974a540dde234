import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKey, cacheScopeOf, canonicalize, TieredCache } from '../../src/cache/index.js';
import { createExecutor } from '../../src/index.js';
import { onePlan, probeSource } from './helpers.js';

/** Principals, with ids chosen to look alike; `undefined` is a run without a principal. */
const PRINCIPALS = [undefined, 'alice', 'bob', 'Alice', '', 'anonymous', 'shared', '"alice"'] as const;
const principal = fc.constantFrom(...PRINCIPALS);
const sourceScope = fc.constantFrom<'principal' | 'shared' | undefined>('principal', 'shared', undefined);
// Small domains, so that the same sub-query comes up often under different principals;
// values that JSON would confuse, and queries that differ only in key order.
const paramValue = fc.constantFrom<unknown>(1, '1', 1n, null, true);
const query = fc.constantFrom<unknown>({ table: 't' }, { table: 't', where: { a: 1, b: 2 } }, { where: { b: 2, a: 1 }, table: 't' }, { table: 'u' });

describe('principal isolation', () => {
  it('never serves an entry stored under another principal unless the source is shared (keys + cache, property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ principal, scope: sourceScope, source: fc.constantFrom('s1', 's2'), query, param: paramValue }), { minLength: 1, maxLength: 30 }),
        async (stores) => {
          const cache = new TieredCache({ maxEntries: 1000, maxBytes: 10_000_000, ttlMs: 0 });
          // A source's scope is fixed: the first store on it decides.
          const scopes = new Map<string, 'principal' | 'shared' | undefined>();
          const keyOf = (source: string, p: string | undefined, q: unknown, param: unknown): string =>
            cacheKey({ source, version: 'v', scope: cacheScopeOf(scopes.get(source), p), calls: [{ query: q, params: [param] }] })!;
          for (const op of stores) {
            if (!scopes.has(op.source)) scopes.set(op.source, op.scope);
            const shared = scopes.get(op.source) === 'shared';
            cache.set(keyOf(op.source, op.principal, op.query, op.param), [{ by: op.principal ?? null, source: op.source, query: canonicalize(op.query)!, param: canonicalize(op.param)! }], {
              source: op.source,
              tags: [],
            });
            // Every principal (and the anonymous caller) now looks the same sub-query up.
            for (const asker of PRINCIPALS) {
              const rows = await cache.get(keyOf(op.source, asker, op.query, op.param));
              if (asker === op.principal || shared) expect(rows).toBeDefined();
              if (!rows) continue;
              const row = rows[0]!;
              // Whatever is served was stored for this very source, query and parameter (key order aside)...
              expect(row).toMatchObject({ source: op.source, query: canonicalize(op.query), param: canonicalize(op.param) });
              // ...and, unless the source is shared, by this very principal (or anonymously for an anonymous run).
              if (!shared) expect(row.by).toBe(asker ?? null);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never serves an entry stored under another principal unless the source is shared (executor, concurrent runs, property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ principal, shared: fc.boolean(), table: fc.constantFrom('t', 'u'), v: paramValue }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          const scoped = probeSource();
          const shared = probeSource({ cacheScope: 'shared' });
          const executor = createExecutor({ sources: { scoped: scoped.source, shared: shared.source } });
          try {
            const expectedCalls = { scoped: new Set<string>(), shared: new Set<string>() };
            // Runs within a batch run at the same time (in-flight sharing), batches one after the other.
            for (const batch of batches) {
              const results = await Promise.all(
                batch.map(async (r) => {
                  const source = r.shared ? 'shared' : 'scoped';
                  const what = `${r.table}|${canonicalize(r.v)}`;
                  expectedCalls[source].add(r.shared ? what : `${JSON.stringify(r.principal ?? null)}|${what}`);
                  const result = await executor.execute(onePlan(source, { table: r.table, v: { $param: 'v' } }), {
                    params: { v: r.v },
                    ...(r.principal === undefined ? {} : { principal: { id: r.principal } }),
                  });
                  return { r, result };
                }),
              );
              for (const { r, result } of results) {
                expect(result.status).toBe('ok');
                const row = result.rows[0]!;
                expect(canonicalize(row.query)).toBe(canonicalize({ table: r.table, v: r.v }));
                if (!r.shared) expect(row.who).toBe(r.principal ?? null);
              }
            }
            // Each principal (and the anonymous caller) paid for its own entries; shared ones were paid once.
            expect(scoped.calls).toHaveLength(expectedCalls.scoped.size);
            expect(shared.calls).toHaveLength(expectedCalls.shared.size);
          } finally {
            await executor.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
