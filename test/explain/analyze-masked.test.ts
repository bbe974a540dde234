import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, postgresSource, type ExecutionEvent, type Executor } from '../../src/index.js';
import { analyzeText } from '../../src/explain/analyze-text.js';
import { analyzeSvg } from '../../src/explain/gantt-svg.js';
import { describeWithServer, pgUrl, requireServer } from '../support/servers.js';

/**
 * EXPLAIN ANALYZE (its model, text and SVG timeline) and executor.metrics() are made of
 * times, counts, codes and reasons: a PostgreSQL error that echoes a run param leaves no
 * trace of the value in them, whatever the result's own errors say.
 */
const pgCheck = await requireServer('postgres');
const SSN = 'SSN-777-88-9999';

describeWithServer(pgCheck, 'EXPLAIN ANALYZE and metrics of a run whose source echoed a bound value, on a real PostgreSQL', () => {
  let executor: Executor;
  beforeAll(() => {
    executor = createExecutor({ sources: { pg: postgresSource({ url: pgUrl() }) }, cache: false, retry: { attempts: 2, initialDelayMs: 1, jitter: 'none' }, telemetry: false });
  });
  afterAll(() => executor?.close());

  it('carry no unmasked error text', async () => {
    const plan = {
      id: 'analyze-masked',
      errorPolicy: 'partial' as const,
      merge: { op: 'union' as const, inputs: ['ok', 'bad'] },
      fragments: [
        { id: 'ok', source: 'pg', query: { sql: 'SELECT 1 AS x', params: [] } },
        { id: 'bad', source: 'pg', query: { sql: 'SELECT $1::int AS x', params: [{ $param: 'ssn' }] } },
      ],
    };
    const run = executor.run(plan, { params: { ssn: SSN } });
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    expect(result.errors[0]!.message).toContain(SSN);
    const analysis = analyze(result, plan, { events });
    expect(analysis.fragments.find((f) => f.id === 'bad')).toMatchObject({ status: 'failed', attempts: 1 });
    for (const text of [JSON.stringify(analysis), analyzeText(analysis), analyzeSvg(analysis), JSON.stringify(executor.metrics())]) expect(text).not.toContain(SSN);
  });
});
