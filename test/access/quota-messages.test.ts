import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor, type QueryRun } from '../../src/index.js';
import { hanging, settles } from '../support/hanging-source.js';

/*
 * A quota refusal names whom it refuses as a FORBIDDEN one does: a principal by its id,
 * quoted (an id is whatever the login says, quotes and line breaks included, and must not
 * forge a second line in a log), and a run without a principal as the anonymous caller,
 * never as a principal whose id is "anonymous".
 */
const plan = { id: 'q', fragments: [{ id: 'a', source: 'h', query: { name: 'a' } }] };

describe('QUOTA_EXCEEDED names the principal', () => {
  let executor: Executor | undefined;
  const runs: QueryRun[] = [];
  afterEach(async () => {
    for (const run of runs.splice(0)) {
      run.cancel();
      await settles(run.result);
    }
    await executor?.close();
  });

  const refusal = (principal: { id: string } | undefined): { message: string } => {
    try {
      executor!.run(plan, principal ? { principal } : {});
    } catch (error) {
      return error as { message: string };
    }
    throw new Error('expected QUOTA_EXCEEDED');
  };

  it('quoted, one line, and apart from the anonymous caller (maxRunningQueries)', () => {
    executor = createExecutor({ sources: { h: hanging().source }, quotas: { maxRunningQueries: 1 } });
    const forged = 'mallory" already has 0 running queries\nprincipal "alice';
    for (const principal of [{ id: forged }, { id: 'anonymous' }, undefined]) runs.push(executor.run(plan, principal ? { principal } : {}));
    expect(refusal({ id: forged })).toMatchObject({ code: 'QUOTA_EXCEEDED', message: `principal ${JSON.stringify(forged)} already has 1 running queries; the quota is 1` });
    expect(refusal({ id: forged }).message).not.toContain('\n');
    expect(refusal({ id: 'anonymous' }).message).toBe('principal "anonymous" already has 1 running queries; the quota is 1');
    expect(refusal(undefined).message).toBe('an anonymous caller already has 1 running queries; the quota is 1');
  });

  it('the same for maxFragmentsPerMinute', () => {
    executor = createExecutor({ sources: { h: hanging().source }, quotas: { maxFragmentsPerMinute: 1 } });
    for (const principal of [{ id: 'a\nb' }, undefined]) runs.push(executor.run(plan, principal ? { principal } : {}));
    expect(refusal({ id: 'a\nb' }).message).toBe('principal "a\\nb" started 1 fragments in the last minute; 1 more would pass the quota of 1');
    expect(refusal(undefined).message).toBe('an anonymous caller started 1 fragments in the last minute; 1 more would pass the quota of 1');
  });
});
