import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, httpSource } from '../../src/index.js';

/** An HTTP source whose first answer is `503 Retry-After: 1`, then 200 (fetch stubbed, no network). */
function busyOnce(seen: number[], now: () => number) {
  return httpSource({
    baseUrl: 'http://api.test',
    fetch: () => {
      seen.push(now());
      if (seen.length === 1) return Promise.resolve(new Response('busy', { status: 503, headers: { 'retry-after': '1' } }));
      return Promise.resolve(new Response(JSON.stringify([{ ok: true }]), { status: 200, headers: { 'content-type': 'application/json' } }));
    },
  });
}

describe('HTTP 503 with Retry-After: 1 on the virtual clock (issue 16, item 3)', () => {
  it('retries no sooner than 1 s, though maxDelayMs is 200', async () => {
    const clock = createVirtualClock();
    const seen: number[] = [];
    const executor = createExecutor({ sources: { api: busyOnce(seen, () => clock.now()) }, clock, cache: false, retry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 200, jitter: 'none' } });
    try {
      const pending = executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/x' } }] });
      await clock.advanceAsync(999);
      expect(seen).toHaveLength(1);
      await clock.advanceAsync(1);
      const result = await pending;
      expect(result.status).toBe('ok');
      expect(seen).toEqual([0, 1000]);
    } finally {
      await executor.close();
    }
  });

  it('fails at once, naming the server’s delay, when the fragment’s deadline is shorter', async () => {
    const clock = createVirtualClock();
    const seen: number[] = [];
    const executor = createExecutor({ sources: { api: busyOnce(seen, () => clock.now()) }, clock, cache: false, retry: { attempts: 3, maxDelayMs: 200 } });
    try {
      const result = await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/x' }, deadlineMs: 500 }] });
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: false, retryAfterMs: 1000 });
      expect(result.errors[0]!.message).toContain('retry after 1000 ms');
      expect(seen).toHaveLength(1);
      expect(clock.now()).toBe(0);
    } finally {
      await executor.close();
    }
  });
});
