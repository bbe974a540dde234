import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, sqliteSource, TributaryError } from '../../src/index.js';

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
    [{ retry: { attempts: 2, typo: 1 } }, 'retry'],
    [{ cache: { maxEntries: -5 } }, 'cache.maxEntries'],
    [{ limits: { maxFragments: 0 } }, 'limits.maxFragments'],
    [{ sources: { crm: { execute: 'no' } } }, 'sources.crm'],
    [{ speed: 'fast' }, '(root)'],
  ])('rejects %o with CONFIG_INVALID at path %s', (options, path) => {
    const error = configError(options);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual([path]);
    expect(error.message).toContain(path === '(root)' ? 'speed' : path);
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
