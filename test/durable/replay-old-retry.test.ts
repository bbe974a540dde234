import { expect, it } from 'vitest';
import { createExecutor } from '../../src/index.js';

/**
 * A recording an older release wrote (before a call that may write was kept from retries): its
 * source said reads only to hedging, so its readOnly list is empty though its one call was a
 * read, failed (a reset) and was retried. Its replay retries it too, as the recorded run did.
 */
const OLD = String.raw`{"format":"tributary-recording","version":1,"queryId":"query-1","plan":{"fragments":[{"id":"a","source":"api","query":{"key":"k"}}]},"run":"/w9vewA=","settings":{"concurrency":16,"retry":{"attempts":3,"initialDelayMs":0,"jitter":"none"},"timeoutMs":10000,"retryBudget":{"capacity":500,"retryCost":5,"timeoutRetryCost":10,"successReward":1},"circuitBreaker":false,"rowLimits":{}},"sources":{"api":{"kind":"tail","readOnly":[]}},"random":[],"calls":[{"source":"api","fragmentId":"a","key":"ivbKhM_g6RvufRkmus2LffLli0AGIYyiL4jFfeqVb6s","startedAt":7.651,"endedAt":9.417,"outcome":"error","error":{"code":"SOURCE_UNAVAILABLE","retryable":true,"message":"reset"}},{"source":"api","fragmentId":"a","key":"ivbKhM_g6RvufRkmus2LffLli0AGIYyiL4jFfeqVb6s","startedAt":12.473,"endedAt":13.588,"outcome":"rows","rowCount":1,"rows":"H4sIAAAAAAAEA/vP78iYr8ScnVqpxJhdzajCwAgA+tMsbhIAAAA="}]}`;

it('a recording from before retry-safety replays its retried read', async () => {
  const replay = createExecutor().replay(OLD);
  const result = await replay.result;
  expect(result.errors).toEqual([]);
  expect(result.status).toBe('ok');
  expect(result.rows).toEqual([{ key: 'k' }]);
});
