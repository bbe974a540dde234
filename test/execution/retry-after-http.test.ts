import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createExecutor, createVirtualClock, httpSource } from '../../src/index.js';
import { settles } from '../support/hanging-source.js';
import { reply, startHttpServer } from '../support/http-server.js';

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

describe('HTTP 429 with a Retry-After longer than a timer can wait, on the system clock', () => {
  it('waits the longest a timer can (2^31 - 1 ms) instead of overflowing into an immediate retry', async () => {
    const server = await startHttpServer({ 'GET /x': reply.status(429, { 'retry-after': '3000000' }) }); // 34.7 days
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 3 } });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'api', query: { path: '/x' } }] });
      const retrying = firstValueFrom(run.events$.pipe(filter((e) => e.type === 'fragment.retrying')));
      expect(await retrying).toMatchObject({ attempt: 2, delayMs: 2 ** 31 - 1 });
      // A timer set past 2^31 - 1 ms would fire after 1 ms, with a TimeoutOverflowWarning on the next tick.
      expect(await settles(run.result)).toBe(false);
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
      expect(server.hits('GET /x')).toBe(1);
      run.cancel('done');
      await run.result.catch(() => undefined);
    } finally {
      process.off('warning', onWarning);
      await executor.close();
      await server.close();
    }
  });
});
