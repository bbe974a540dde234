import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, createVirtualClock, type SourceExecutor } from '../../src/index.js';

describe('deadlines on the virtual clock', () => {
  it('fails a fragment with TIMEOUT at its deadline, retries included, not later', async () => {
    const clock = createVirtualClock();
    const calls: AbortSignal[] = [];
    const hangs: SourceExecutor = {
      kind: 'hangs',
      querySchema: z.object({}),
      execute: (_q, ctx) => {
        calls.push(ctx.signal);
        return new Promise(() => undefined);
      },
    };
    const executor = createExecutor({ sources: { hangs }, timeoutMs: 200, retry: { attempts: 10, initialDelayMs: 100, jitter: 'none', factor: 1 }, cache: false, clock });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'hangs', query: {}, deadlineMs: 500 }] });
      let settled = false;
      void run.result.then(() => (settled = true));
      // 0–200 try 1, 300–500 try 2: the deadline cuts try 2 at 500.
      await clock.advanceAsync(499);
      expect(settled).toBe(false);
      expect(calls).toHaveLength(2);
      await clock.advanceAsync(1);
      const result = await run.result;
      expect(result.errors[0]).toMatchObject({ code: 'TIMEOUT', retryable: false });
      expect(result.errors[0]!.message).toContain('500 ms deadline');
      expect(calls.every((s) => s.aborted)).toBe(true);
      expect(clock.now()).toBe(500);
    } finally {
      await executor.close();
    }
  });
});

describe('Retry-After on the virtual clock', () => {
  const busy = (retryAfterMs: number): SourceExecutor & { calls: number[] } => {
    const calls: number[] = [];
    return {
      calls,
      kind: 'busy',
      querySchema: z.object({}),
      execute: () => {
        calls.push(calls.length);
        if (calls.length === 1) return Promise.reject(Object.assign(new Error('503 busy'), { retryable: true, retryAfterMs }));
        return Promise.resolve([{ ok: true }]);
      },
    };
  };

  it('never retries before the server asked, even past maxDelayMs', async () => {
    const clock = createVirtualClock();
    const source = busy(5_000);
    const executor = createExecutor({ sources: { busy: source }, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 100, jitter: 'none' }, cache: false, clock });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'busy', query: {} }] });
      await clock.advanceAsync(4_999);
      expect(source.calls).toHaveLength(1);
      await clock.advanceAsync(1);
      expect((await run.result).status).toBe('ok');
      expect(source.calls).toHaveLength(2);
    } finally {
      await executor.close();
    }
  });

  it('fails at once, naming the server’s delay, when that wait would pass the deadline', async () => {
    const clock = createVirtualClock();
    const source = busy(5_000);
    const executor = createExecutor({ sources: { busy: source }, retry: { attempts: 3, jitter: 'none' }, cache: false, clock });
    try {
      const result = await executor.execute({ fragments: [{ id: 'f', source: 'busy', query: {}, deadlineMs: 3_000 }] });
      expect(result.status).toBe('failed');
      expect(result.errors[0]).toMatchObject({ retryable: false, retryAfterMs: 5_000 });
      expect(result.errors[0]!.message).toContain('retry after 5000 ms');
      expect(clock.now()).toBe(0);
      expect(source.calls).toHaveLength(1);
    } finally {
      await executor.close();
    }
  });
});

describe('the budget a call carries to its source', () => {
  it('is the least of the attempt timeout and what the fragment deadline leaves, per attempt', async () => {
    const clock = createVirtualClock();
    const budgets: (number | undefined)[] = [];
    const hangs: SourceExecutor = {
      kind: 'hangs',
      querySchema: z.object({}),
      execute: (_q, ctx) => {
        budgets.push(ctx.budgetMs);
        return new Promise(() => undefined);
      },
    };
    const executor = createExecutor({ sources: { hangs }, timeoutMs: 200, retry: { attempts: 3, initialDelayMs: 150, jitter: 'none', factor: 1 }, cache: false, clock });
    try {
      const run = executor.run({ fragments: [{ id: 'f', source: 'hangs', query: {}, deadlineMs: 450 }] });
      // try 1 at 0 (200 ms timeout), try 2 at 350: only 100 ms of the deadline left.
      await clock.advanceAsync(450);
      await run.result;
      expect(budgets).toEqual([200, 100]);
    } finally {
      await executor.close();
    }
  });

  it('is the executor’s default attempt timeout when nothing else bounds the call', async () => {
    const seen: (number | undefined)[] = [];
    const once: SourceExecutor = {
      kind: 'once',
      querySchema: z.object({}),
      execute: (_q, ctx) => {
        seen.push(ctx.budgetMs);
        return Promise.resolve([{ a: 1 }]);
      },
    };
    const executor = createExecutor({ sources: { once }, cache: false });
    try {
      await executor.execute({ fragments: [{ id: 'f', source: 'once', query: {} }] });
      expect(seen).toEqual([10_000]);
    } finally {
      await executor.close();
    }
  });
});
