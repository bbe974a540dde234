import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { createExecutor, memorySource, type Executor, type Progress } from '../../src/index.js';

/**
 * DESIGN.md, "Public API" and "Errors": the names it promises exist on the package's entry
 * point, with the members and fields it lists. Shapes only where DESIGN.md gives only names;
 * the behaviour behind each is tested in its own folder.
 */
describe('the public names DESIGN.md promises', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('are exported as functions or classes from src/index.ts', () => {
    const names = [
      'createExecutor', 'sqliteSource', 'postgresSource', 'mysqlSource', 'httpSource', 'memorySource', 'plan',
      'TributaryError', 'FragmentError', 'sqliteRunStore', 'redisRunStore', 'redisStore', 'explain', 'analyze', 'createVirtualClock',
    ] as const;
    expect(names.filter((n) => typeof (api as Record<string, unknown>)[n] !== 'function')).toEqual([]);
  });

  it('every error code DESIGN.md lists is in the exported list, with a meaning', () => {
    const design = [
      'PLAN_INVALID', 'CONFIG_INVALID', 'SOURCE_UNKNOWN', 'CANCELLED', 'TIMEOUT', 'LIMIT_EXCEEDED', 'QUOTA_EXCEEDED',
      'SOURCE_BAD_RESPONSE', 'SOURCE_UNAVAILABLE', 'RETRY_BUDGET_EXHAUSTED', 'FRAGMENT_FAILED', 'FORBIDDEN',
    ];
    for (const code of design) expect(typeof api.ERROR_CODES[code as api.ErrorCode], code).toBe('string');
  });

  it('a TributaryError has name, code, issues and cause; a FragmentError adds fragmentId, source, attempt, retryable', async () => {
    executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ id: 1 }] } }) }, retry: { attempts: 1 } });
    let thrown: unknown;
    try {
      executor.run({ id: 'bad', fragments: [{ id: 'a', source: 'ref', query: { table: 't' }, dependsOn: ['nope'] }] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(api.TributaryError);
    expect(thrown).toMatchObject({ name: 'TributaryError', code: 'PLAN_INVALID', issues: [{ path: 'fragments[0].dependsOn[0]', message: expect.any(String) }] });

    const result = await executor.execute({ id: 'f', fragments: [{ id: 'a', source: 'ref', query: { table: 'missing' } }] });
    expect(result.status).toBe('failed');
    const error = result.errors[0];
    expect(error).toBeInstanceOf(api.FragmentError);
    expect(error).toBeInstanceOf(api.TributaryError);
    expect(error).toMatchObject({ fragmentId: 'a', source: 'ref', attempt: 1, retryable: false, code: expect.any(String) });
    expect(Array.isArray(error?.issues)).toBe(true);
  });

  it('an executor, a run, its progress and its result have the members DESIGN.md names', async () => {
    executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ id: 1 }, { id: 2 }] } }) } });
    for (const m of ['register', 'unregister', 'run', 'execute', 'prepare', 'resume', 'close'] as const) expect(typeof executor[m], m).toBe('function');
    expect(typeof executor.cache.invalidate).toBe('function');
    expect(executor.cache.stats()).toMatchObject({ hits: 0, misses: 0 });

    const run = executor.run({ id: 'shape', fragments: [{ id: 'a', source: 'ref', query: { table: 't' } }] });
    for (const m of ['cancel', 'rows'] as const) expect(typeof run[m], m).toBe('function');
    expect(typeof run.actor.getSnapshot).toBe('function');
    const progress: Progress[] = [];
    run.progress$.subscribe((p) => progress.push(p));
    const result = await run.result;
    expect(progress.at(-1)).toMatchObject({ total: 1, succeeded: 1, failed: 0, cached: 0, skipped: 0, running: 0, level: 0, percent: 100 });
    expect(result).toMatchObject({
      queryId: 'shape', status: 'ok', rows: [{ id: 1 }, { id: 2 }], columns: ['id'], errors: [],
      stats: { fragments: 1, cacheHits: 0, retries: 0, rowsFetched: 2, durationMs: expect.any(Number) },
    });
    expect(result.fragments.a).toMatchObject({
      source: 'ref', level: 0, status: 'succeeded', rowCount: 2, attempts: 1, cached: false, startedAt: expect.any(Number), durationMs: expect.any(Number),
    });
    // execute(plan) is run(plan).result, and the second run is served from the cache.
    const again = await executor.execute({ id: 'shape', fragments: [{ id: 'a', source: 'ref', query: { table: 't' } }] });
    expect(again.fragments.a?.cached).toBe(true);
    expect(again.stats.cacheHits).toBe(1);
  });
});
