import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, sqliteSource, TributaryError, type Principal } from '../../src/index.js';

function configError(options: unknown): TributaryError {
  try {
    createExecutor(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(TributaryError);
    return error as TributaryError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('createExecutor options', () => {
  it.each([
    [{ concurrency: 0 }, 'concurrency'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ retry: { attempts: 0 } }, 'retry.attempts'],
    [{ retry: { jitter: 'sometimes' } }, 'retry.jitter'],
    [{ retry: { attempts: 2, typo: 1 } }, 'retry.typo'],
    [{ cache: { maxEntries: -5 } }, 'cache.maxEntries'],
    [{ limits: { maxFragments: 0 } }, 'limits.maxFragments'],
    [{ sources: { crm: { execute: 'no' } } }, 'sources.crm'],
    [{ speed: 'fast' }, 'speed'],
  ])('rejects %o with CONFIG_INVALID at path %s', (options, path) => {
    const error = configError(options);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual([path]);
    expect(error.message).toContain(path);
  });

  it('merges a partial nested object with the defaults', async () => {
    const executor = createExecutor({ retry: { attempts: 1 }, cache: false, sources: { m: memorySource({ tables: { t: [{ x: 1 }] } }) } });
    expect(executor.metrics().lanes.global.limit).toBe(16);
    expect(executor.metrics().cache).toBeUndefined();
    expect((await executor.execute({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] })).rows).toEqual([{ x: 1 }]);
    await executor.close();
  });

  it('accepts no options at all', async () => {
    const executor = createExecutor();
    expect(executor.metrics()).toMatchObject({ runningQueries: 0, lanes: { global: { limit: 16, running: 0, queued: 0 } } });
    await executor.close();
  });

  it('rejects bad connector options with CONFIG_INVALID at options.<field>', () => {
    expect(() => memorySource({ tables: { t: 'rows' as never } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.tables.t' })] }) as Error);
    expect(() => sqliteSource({ file: '' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path: 'options.file' })] }) as Error);
  });
});

describe('run() options', () => {
  const plan = { fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] };

  it.each([
    [null, '(root)'],
    ['alice', '(root)'],
    [{ signal: 'soon' }, 'signal'],
    [{ signal: {} }, 'signal'],
    [{ principal: 'alice' }, 'principal'],
    [{ principal: { userId: 'alice' } }, 'principal'],
    [{ principal: { id: 42 } }, 'principal'],
    [{ principal: null }, 'principal'],
    [{ principal: ['alice'] }, 'principal'],
    [{ params: [1] }, 'params'],
    [{ params: 'region=eu' }, 'params'],
    [{ deadlineMs: 0 }, 'deadlineMs'],
  ])('rejects %o with CONFIG_INVALID at %s, before anything runs', async (options, path) => {
    let calls = 0;
    const source = memorySource({ tables: { t: [{ x: 1 }] } });
    const counted = { ...source, execute: (...args: Parameters<typeof source.execute>) => (calls++, source.execute(...args)) };
    const executor = createExecutor({ sources: { m: counted } });
    try {
      let error: unknown;
      try {
        executor.run(plan, options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', issues: [expect.objectContaining({ path })] });
      expect((error as Error).message).toContain(path);
      await expect(executor.execute(plan, options as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect(calls).toBe(0);
    } finally {
      await executor.close();
    }
  });

  it('a principal without a string id is refused, not run as the anonymous caller whose cache it would share', async () => {
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ x: 1 }] } }) } });
    try {
      await executor.execute(plan);
      expect(executor.cache.stats()).toMatchObject({ misses: 1, hits: 0 });
      // A bare user id, as a service might pass it by mistake: before, this read the
      // anonymous caller's entry (a hit), as would every other user's.
      expect(() => executor.run(plan, { principal: 'bob' as never })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      await executor.execute(plan, { principal: { id: 'bob' } });
      expect(executor.cache.stats()).toMatchObject({ misses: 2, hits: 0 });
    } finally {
      await executor.close();
    }
  });

  it('accepts an AbortSignal, AbortSignal.timeout() and a class-instance principal with an id', async () => {
    class User {
      constructor(readonly id: string) {}
    }
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ x: 1 }] } }) } });
    try {
      for (const options of [{ signal: new AbortController().signal }, { signal: AbortSignal.timeout(60_000) }, { principal: new User('u1') as Principal }, { params: {} }, {}, undefined]) {
        expect((await executor.execute(plan, options)).rows).toEqual([{ x: 1 }]);
      }
    } finally {
      await executor.close();
    }
  });
});
