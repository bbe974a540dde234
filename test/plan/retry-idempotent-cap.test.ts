import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type Plan } from '../../src/index.js';

const t = [{ id: 1 }];
const fragment = { id: 'f', source: 'mem', query: { table: 't' } };

describe('limits.allowIdempotentRetry', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });
  const refusal = (plan: Plan): unknown => {
    try {
      executor!.prepare(plan);
      return undefined;
    } catch (error) {
      return error;
    }
  };

  it('false: refuses retry.idempotent in a plan or fragment, at its path; the executor keeps its own', async () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false, retry: { idempotent: true }, limits: { allowIdempotentRetry: false } });
    const plan: Plan = { retry: { idempotent: true }, fragments: [fragment, { ...fragment, id: 'g', retry: { idempotent: true } }], merge: { op: 'union', inputs: ['f', 'g'] } };
    const message = 'a plan may not declare its calls safe to retry when they write (limits.allowIdempotentRetry: false)';
    expect(refusal(plan)).toMatchObject({
      code: 'PLAN_INVALID',
      issues: [
        { path: 'retry.idempotent', message },
        { path: 'fragments[1].retry.idempotent', message },
      ],
    });
    expect(refusal({ retry: { idempotent: false }, fragments: [fragment] })).toBeUndefined();
    expect((await executor.execute({ fragments: [fragment] })).rows).toEqual(t);
  });

  it('by default lets a plan say retry: { idempotent: true }', () => {
    executor = createExecutor({ sources: { mem: memorySource({ tables: { t } }) }, cache: false });
    expect(refusal({ retry: { idempotent: true }, fragments: [{ ...fragment, retry: { idempotent: true } }] })).toBeUndefined();
  });
});
