import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createExecutor, createRemoteLane } from '../../src/index.js';
import { bucketPlan, fixtureSources } from './fixtures/sources.js';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('remote execution without Redis', () => {
  // A dead Redis must fail the run after the connect timeouts (300 ms × 2 tries here), never
  // wait for it: the test's own timeout is the hang guard, not a wall-clock assertion.
  it('fails the fragments with a retryable SOURCE_UNAVAILABLE after the connect timeout, never hanging', { timeout: 10_000 }, async () => {
    const port = await closedPort();
    const executor = createExecutor({
      sources: fixtureSources(),
      cache: false,
      telemetry: false,
      retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      remote: { connection: `redis://127.0.0.1:${port}`, queue: 'nowhere', connectTimeoutMs: 300 },
    });
    const result = await executor.execute({ ...bucketPlan('down', 3), errorPolicy: 'partial' });
    await executor.close();

    // Under the partial policy a run whose every fragment failed is `partial` with no rows.
    expect(result.status).toBe('partial');
    expect(result.rows).toEqual([]);
    expect(result.errors).toHaveLength(3);
    for (const error of result.errors) {
      expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
      expect(error.message).toContain(`Redis 127.0.0.1:${port}`);
    }
  });

  it('rejects remoteMetrics() the same way, and closes without waiting for Redis', { timeout: 10_000 }, async () => {
    const lane = createRemoteLane({ connection: `redis://127.0.0.1:${await closedPort()}`, queue: 'nowhere', connectTimeoutMs: 200 });
    await expect(lane.metrics()).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    await lane.close();
  });
});
