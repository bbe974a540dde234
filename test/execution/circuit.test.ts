import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, type SourceExecutor } from '../../src/index.js';

describe('circuit breaker and queued calls', () => {
  it('fails calls that were waiting for a slot when the circuit opened, without sending them', async () => {
    let sent = 0;
    const dead: SourceExecutor = {
      kind: 'dead',
      querySchema: z.object({}),
      maxConcurrency: 2,
      execute: async () => {
        sent++;
        await new Promise((r) => setTimeout(r, 5));
        throw Object.assign(new Error('service unavailable'), { retryable: true });
      },
    };
    const executor = createExecutor({ sources: { dead }, retry: { attempts: 1 }, circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 60_000 }, cache: false });
    const fragments = Array.from({ length: 20 }, (_, i) => ({ id: `f${i}`, source: 'dead', query: {} }));
    const result = await executor.execute({ fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) }, errorPolicy: 'partial' });
    expect(result.errors).toHaveLength(20);
    expect(sent).toBeLessThanOrEqual(4);
    expect(result.errors.filter((e) => e.code === 'SOURCE_UNAVAILABLE' && /circuit is open/.test(e.message)).length).toBeGreaterThanOrEqual(16);
    expect(executor.metrics().sources.dead!.circuit).toBe('open');
    await executor.close();
  });
});
