import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type SourceExecutor } from '../../src/index.js';

/*
 * A recording keeps each failed call's error text. A database echoes the values it was bound
 * with; the recording masks them as events$ does ([param]): the values a `$from` bound into
 * the call (read off the call's context when it fails) and the run's params. The source here
 * fails echoing every value it was given, as PostgreSQL's `Key (ssn)=(…) already exists` does.
 */
const SSN = 'SSN-123-45-6789';
const EMAIL = 'ann.secret@example.com';

const echoing: SourceExecutor<{ sql: string; params: unknown[] }> = {
  kind: 'echo',
  querySchema: z.object({ sql: z.string(), params: z.array(z.unknown()) }),
  execute: (_query, ctx) => Promise.reject(Object.assign(new Error(`duplicate key: Key (ssn, email)=(${ctx.params.flat().join(', ')}) already exists`), { retryable: false })),
};

const plan = {
  id: 'echoed',
  fragments: [
    { id: 'c', source: 'c', query: { table: 'customers' } },
    { id: 'f', source: 'echo', dependsOn: ['c'], query: { sql: 'INSERT …', params: [{ $from: 'c', column: 'ssn' }, { $param: 'email' }] } },
  ],
};

describe('a recording of a call that failed echoing its values', () => {
  it('masks the values bound into the call and the run params, and keeps the rest of the text', async () => {
    const executor = createExecutor({ sources: { c: memorySource({ tables: { customers: [{ ssn: SSN }] } }), echo: echoing }, retry: { attempts: 1 }, cache: false });
    try {
      const run = executor.run(plan, { record: true, params: { email: EMAIL } });
      const result = await run.result;
      // The caller's own error keeps the driver's words.
      expect(result.errors[0]!.message).toContain(SSN);
      const call = run.recording()!.calls.find((c) => c.fragmentId === 'f')!;
      expect(call.outcome).toBe('error');
      if (call.outcome !== 'error') return;
      expect(call.error.message).toBe('duplicate key: Key (ssn, email)=([param], [param]) already exists');
      expect(JSON.stringify(run.recording()!.calls)).not.toContain(SSN);
    } finally {
      await executor.close();
    }
  });
});
