import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor, type ExecutorMetrics } from '../../src/index.js';
import { testSource } from '../support/engine.js';

describe('executor.metrics() as JSON', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('shows an unlimited lane with limit null, in the process and after JSON.stringify alike', () => {
    const capped = testSource({ maxConcurrency: 2 });
    executor = createExecutor({ cache: false, concurrency: 8, sources: { mem: memorySource({ tables: { t: [] } }), capped: capped.source } });
    const m = executor.metrics();
    expect(m.sources.mem!.limit).toBeNull();
    expect(m.lanes.sources.mem?.limit ?? null).toBeNull();
    expect(m.sources.capped!.limit).toBe(2);
    expect(m.lanes.global.limit).toBe(8);
    // What a dashboard receives over the wire is what the process saw.
    const sent = JSON.parse(JSON.stringify(m)) as ExecutorMetrics;
    expect(sent.sources).toEqual(m.sources);
    expect(sent.lanes).toEqual(m.lanes);
  });
});
